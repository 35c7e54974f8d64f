using System.Text;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Progress;

/// <summary><c>--progress plain</c>: one line per event, steps numbered in the order they appear (buildx's format:
/// <c>#3 [2/4] RUN make</c>, <c>#3 0.412 log line</c>, <c>#3 DONE 1.2s</c>, <c>#3 CACHED</c>). Not thread-safe: the
/// <see cref="ProgressPrinter"/> serializes calls.</summary>
public sealed class PlainProgressWriter(TextWriter output)
{
    private readonly Dictionary<string, int> _numbers = [];
    private readonly Dictionary<string, long> _started = [];
    private readonly Dictionary<string, StringBuilder> _partial = [];
    private readonly HashSet<string> _named = [];

    public void OnEvent(ProgressEvent e)
    {
        var n = Number(e.StepId, e.Name);
        switch (e.Kind)
        {
            case ProgressEvent.Types.Kind.Started:
                _started[e.StepId] = Environment.TickCount64;
                if (_named.Add(e.StepId)) output.WriteLine($"#{n} {e.Name}");
                break;
            case ProgressEvent.Types.Kind.CacheMiss:
                // Usually before the step starts; the name comes first either way, as on a start.
                if (_named.Add(e.StepId)) output.WriteLine($"#{n} {e.Name}");
                output.WriteLine($"#{n} cache miss: {e.CacheMiss}");
                break;
            case ProgressEvent.Types.Kind.Log:
                WriteLog(n, e);
                break;
            case ProgressEvent.Types.Kind.Cached:
                output.WriteLine($"#{n} {e.Name}\n#{n} CACHED");
                break;
            case ProgressEvent.Types.Kind.Completed:
                FlushPartial(n, e.StepId);
                _started.Remove(e.StepId);
                output.WriteLine($"#{n} DONE {Math.Max(0, e.CompletedUnixMs - e.StartedUnixMs) / 1000.0:0.0}s");
                break;
            case ProgressEvent.Types.Kind.Failed:
                FlushPartial(n, e.StepId);
                _started.Remove(e.StepId);
                output.WriteLine($"#{n} ERROR: {e.Error}");
                break;
            case ProgressEvent.Types.Kind.Info:
                output.WriteLine($"#{n} {e.Name}");
                break;
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
        var elapsed = _started.TryGetValue(e.StepId, out var started) ? (Environment.TickCount64 - started) / 1000.0 : 0;
        foreach (var line in text[..lastNewline].Split('\n'))
            output.WriteLine($"#{n} {elapsed:0.000} {line.TrimEnd('\r')}");
    }

    private void FlushPartial(int n, string stepId)
    {
        if (!_partial.Remove(stepId, out var pending) || pending.Length == 0) return;
        output.WriteLine($"#{n} {pending}");
    }
}
