using BuildFarm.Worker.Execution;

namespace BuildFarm.Worker.Steps;

/// <summary>Forwards output and keeps the last lines, for the error report of a failed step.</summary>
internal sealed class LastLines(IProgress<OutputLine>? inner, int capacity) : IProgress<OutputLine>
{
    private readonly Queue<OutputLine> _lines = new();
    private readonly Lock _gate = new();

    public void Report(OutputLine value)
    {
        lock (_gate)
        {
            _lines.Enqueue(value);
            while (_lines.Count > capacity) _lines.Dequeue();
        }
        inner?.Report(value);
    }

    public IReadOnlyList<OutputLine> Snapshot()
    {
        lock (_gate) return _lines.ToList();
    }
}
