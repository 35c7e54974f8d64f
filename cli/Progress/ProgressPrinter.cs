using System.Text;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Progress;

/// <summary>
/// Prints build progress like buildx: plain (one line per event, numbered steps, for CI and logs),
/// tty (finished steps scroll, a status line shows what runs now), or quiet.
/// </summary>
public sealed class ProgressPrinter
{
    private readonly TextWriter _out;
    private readonly string _mode;
    private readonly Dictionary<string, int> _numbers = [];
    private readonly Dictionary<string, (string Name, long Started)> _running = [];
    private readonly Dictionary<string, StringBuilder> _partial = [];
    private readonly HashSet<string> _named = [];
    private readonly long _start = Environment.TickCount64;
    private readonly Lock _gate = new();
    private bool _statusShown;
    private readonly Timer? _ticker;

    public ProgressPrinter(TextWriter output, string mode, bool ci)
    {
        _out = output;
        _mode = mode switch
        {
            "auto" => Console.IsErrorRedirected || ci ? "plain" : "tty",
            _ => mode,
        };
        // In a terminal the status line keeps counting while a step runs silently.
        if (_mode == "tty")
            _ticker = new Timer(_ => Redraw(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
    }

    private void Redraw()
    {
        lock (_gate)
        {
            ClearStatus();
            DrawStatus();
        }
    }

    public bool IsQuiet => _mode == "quiet";

    public void Info(string message)
    {
        if (IsQuiet) return;
        lock (_gate)
        {
            ClearStatus();
            _out.WriteLine(_mode is "plain" or "rawjson" ? $"#0 {message}" : $" => {message}");
            DrawStatus();
        }
    }

    public void OnEvent(ProgressEvent e)
    {
        if (IsQuiet) return;
        lock (_gate)
        {
            if (_mode == "rawjson")
            {
                // One protobuf-JSON event per line, for tools (and tests) that want the timestamps.
                _out.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(e));
                return;
            }
            ClearStatus();
            var n = Number(e.StepId, e.Name);
            switch (e.Kind)
            {
                case ProgressEvent.Types.Kind.Started:
                    _running[e.StepId] = (e.Name, Environment.TickCount64);
                    if (_mode == "plain" && _named.Add(e.StepId)) _out.WriteLine($"#{n} {e.Name}");
                    break;
                case ProgressEvent.Types.Kind.CacheMiss:
                    // Usually before the step starts; the name comes first either way, as on a start.
                    if (_mode == "plain" && _named.Add(e.StepId)) _out.WriteLine($"#{n} {e.Name}");
                    _out.WriteLine(_mode == "plain" ? $"#{n} cache miss: {e.CacheMiss}" : $" => {e.Name}: cache miss: {e.CacheMiss}");
                    break;
                case ProgressEvent.Types.Kind.Log:
                    WriteLog(n, e);
                    break;
                case ProgressEvent.Types.Kind.Cached:
                    _out.WriteLine(_mode == "plain" ? $"#{n} {e.Name}\n#{n} CACHED" : $" => CACHED {e.Name}");
                    break;
                case ProgressEvent.Types.Kind.Completed:
                    FlushPartial(n, e.StepId);
                    _running.Remove(e.StepId);
                    var seconds = Math.Max(0, e.CompletedUnixMs - e.StartedUnixMs) / 1000.0;
                    _out.WriteLine(_mode == "plain" ? $"#{n} DONE {seconds:0.0}s" : $" => {e.Name,-60} {seconds:0.0}s");
                    break;
                case ProgressEvent.Types.Kind.Failed:
                    FlushPartial(n, e.StepId);
                    _running.Remove(e.StepId);
                    _out.WriteLine(_mode == "plain" ? $"#{n} ERROR: {e.Error}" : $" => ERROR {e.Name}: {e.Error}");
                    break;
                case ProgressEvent.Types.Kind.Info:
                    _out.WriteLine(_mode == "plain" ? $"#{n} {e.Name}" : $" => {e.Name}");
                    break;
            }
            DrawStatus();
        }
    }

    /// <summary>Call before anything else writes to the terminal (the final error or result).</summary>
    public void Finish()
    {
        _ticker?.Dispose();
        lock (_gate)
        {
            _running.Clear();
            ClearStatus();
        }
    }

    private int Number(string stepId, string name)
    {
        var id = string.IsNullOrEmpty(stepId) ? name : stepId;
        if (!_numbers.TryGetValue(id, out var n)) _numbers[id] = n = _numbers.Count + 1;
        return n;
    }

    private void WriteLog(int n, ProgressEvent e)
    {
        if (!_partial.TryGetValue(e.StepId, out var pending)) _partial[e.StepId] = pending = new StringBuilder();
        pending.Append(e.Log.ToStringUtf8());
        var text = pending.ToString();
        var lastNewline = text.LastIndexOf('\n');
        if (lastNewline < 0) return;
        pending.Clear().Append(text[(lastNewline + 1)..]);
        var elapsed = _running.TryGetValue(e.StepId, out var r) ? (Environment.TickCount64 - r.Started) / 1000.0 : 0;
        foreach (var line in text[..lastNewline].Split('\n'))
            _out.WriteLine(_mode == "plain" ? $"#{n} {elapsed:0.000} {line.TrimEnd('\r')}" : $"    {line.TrimEnd('\r')}");
    }

    private void FlushPartial(int n, string stepId)
    {
        if (!_partial.Remove(stepId, out var pending) || pending.Length == 0) return;
        _out.WriteLine(_mode == "plain" ? $"#{n} {pending}" : $"    {pending}");
    }

    private void DrawStatus()
    {
        if (_mode != "tty" || _running.Count == 0) return;
        var now = Environment.TickCount64;
        var parts = _running.Values.Select(r => $"{r.Name} {(now - r.Started) / 1000.0:0.0}s");
        var line = $"[+] Building {(now - _start) / 1000.0:0.0}s: {string.Join(" | ", parts)}";
        var width = Console.IsOutputRedirected ? 200 : Math.Max(40, Console.WindowWidth - 1);
        _out.Write(line.Length > width ? line[..width] : line);
        _out.Flush();
        _statusShown = true;
    }

    private void ClearStatus()
    {
        if (!_statusShown) return;
        _out.Write("\r\u001b[K");
        _statusShown = false;
    }
}
