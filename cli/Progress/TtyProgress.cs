using BuildFarm.Protos.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace BuildFarm.Cli.Progress;

/// <summary>
/// The live terminal view of a build, as buildx draws it: a header with the elapsed time and done/total, one line per
/// step in the order they appeared; a running step shows its elapsed time and its last log lines, a finished one
/// collapses to one line with its duration, a failed one stays expanded with its log. Redrawn in place (Spectre.Console
/// live display) ten times a second; the last frame stays on the terminal.
/// </summary>
public sealed class TtyProgress
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private readonly IAnsiConsole _console;
    private readonly TextWriter _output;
    private readonly Dictionary<string, StepProgress> _steps = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _start = Environment.TickCount64;
    private readonly Task _display;
    private bool _finished;

    public TtyProgress(TextWriter output, bool color = true)
    {
        _output = output;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.Yes,
            ColorSystem = color ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            // CliEnvironment is the one reader of the environment: Spectre gets none of it.
            EnvironmentVariables = new Dictionary<string, string>(),
        });
        // The live region is cropped to the terminal's height (the newest lines kept); when the build ends it is cleared
        // and the whole last frame is written below what came before, so every step stays in the scrollback, as buildx.
        _display = Task.Run(() => _console.Live(new Text(""))
            .AutoClear(true)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Top)
            .StartAsync(RefreshAsync));
    }

    public void OnEvent(ProgressEvent e)
    {
        lock (_gate)
        {
            var step = Step(e);
            switch (e.Kind)
            {
                case ProgressEvent.Types.Kind.Started:
                    step.Status = StepStatus.Running;
                    step.StartedTicks = Environment.TickCount64;
                    break;
                case ProgressEvent.Types.Kind.CacheMiss:
                    if (step.Status == StepStatus.Waiting) step.StartedTicks = Environment.TickCount64;
                    break;
                case ProgressEvent.Types.Kind.Log:
                    step.AppendLog(e.Log.ToStringUtf8());
                    break;
                case ProgressEvent.Types.Kind.Cached:
                    step.Status = StepStatus.Cached;
                    step.Seconds = 0;
                    break;
                case ProgressEvent.Types.Kind.Completed:
                    step.FlushLog();
                    step.Status = StepStatus.Done;
                    step.Seconds = Math.Max(0, e.CompletedUnixMs - e.StartedUnixMs) / 1000.0;
                    break;
                case ProgressEvent.Types.Kind.Failed:
                    step.FlushLog();
                    step.Status = StepStatus.Failed;
                    step.Seconds = e.CompletedUnixMs > 0 && e.StartedUnixMs > 0
                        ? Math.Max(0, e.CompletedUnixMs - e.StartedUnixMs) / 1000.0
                        : Elapsed(step.StartedTicks);
                    break;
                case ProgressEvent.Types.Kind.Info:
                    step.Status = StepStatus.Done;
                    break;
            }
        }
    }

    /// <summary>A message of the client itself (writing the image, naming it): one finished line.</summary>
    public void Info(string message)
    {
        lock (_gate)
        {
            if (_finished)
            {
                _output.WriteLine($" => {message}");
                _output.Flush();
                return;
            }
            _steps[$"info:{_steps.Count}"] = new StepProgress(message, _steps.Count) { Status = StepStatus.Done };
        }
    }

    /// <summary>Stops redrawing and writes the whole last frame; what is written afterwards goes below it.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            if (_finished) return;
            _finished = true;
        }
        _stop.Cancel();
        // The display task ends within one refresh interval; a console that no longer accepts writes must not hang the CLI.
        _display.Wait(TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            // Nothing runs any more: every step is collapsed unless it failed.
            foreach (var step in _steps.Values.Where(s => s.Status is StepStatus.Running or StepStatus.Waiting)) step.Status = StepStatus.Done;
        }
        _console.Write(Render(final: true));
        _output.Flush();
    }

    private async Task RefreshAsync(LiveDisplayContext context)
    {
        while (!_stop.IsCancellationRequested)
        {
            context.UpdateTarget(Render(final: false));
            context.Refresh();
            try { await Task.Delay(RefreshInterval, _stop.Token); }
            catch (OperationCanceledException) { break; }
        }
    }

    private StepProgress Step(ProgressEvent e)
    {
        var id = string.IsNullOrEmpty(e.StepId) ? e.Name : e.StepId;
        if (!_steps.TryGetValue(id, out var step)) _steps[id] = step = new StepProgress(e.Name, _steps.Count);
        else if (!string.IsNullOrEmpty(e.Name)) step.Name = e.Name;
        return step;
    }

    private IRenderable Render(bool final)
    {
        lock (_gate)
        {
            var width = Math.Max(40, _console.Profile.Width - 1); // a full last column would wrap on some terminals
            var steps = _steps.Values.OrderBy(s => s.Order).ToList();
            var ended = steps.Count(s => s.Status is StepStatus.Done or StepStatus.Cached or StepStatus.Failed);
            var lines = new List<IRenderable>
            {
                new Text($"[+] Building {Elapsed(_start):0.0}s ({ended}/{steps.Count}){(final ? " FINISHED" : "")}", new Style(Color.Blue)),
            };
            foreach (var step in steps)
            {
                var (label, style) = step.Status switch
                {
                    StepStatus.Cached => ($"CACHED {step.Name}", new Style(Color.Blue)),
                    StepStatus.Failed => ($"ERROR {step.Name}", new Style(Color.Red)),
                    StepStatus.Done => (step.Name, new Style(Color.Blue)),
                    _ => (step.Name, Style.Plain),
                };
                var seconds = step.Status switch
                {
                    StepStatus.Running => Elapsed(step.StartedTicks),
                    StepStatus.Waiting => (double?)null,
                    _ => step.Seconds,
                };
                lines.Add(new Text(Line($" => {label}", seconds is { } s ? $"{s:0.0}s" : "", width), style));
                // Running and failed steps are expanded with their last log lines; finished ones collapse to one line.
                if (step.Status is StepStatus.Running or StepStatus.Failed)
                    foreach (var log in step.LastLines)
                        lines.Add(new Text(Clip($" => => # {log}", width), style));
            }
            return new Rows(lines);
        }
    }

    /// <summary>The name on the left, the time right-aligned, the whole within the terminal's width.</summary>
    private static string Line(string left, string right, int width)
    {
        var room = width - right.Length - 1;
        if (left.Length > room) left = left[..Math.Max(0, room - 3)] + "...";
        return left.PadRight(room) + " " + right;
    }

    private static string Clip(string line, int width) =>
        line.Length <= width ? line : line[..Math.Max(0, width - 3)] + "...";

    private static double Elapsed(long startedTicks) => startedTicks == 0 ? 0 : (Environment.TickCount64 - startedTicks) / 1000.0;
}
