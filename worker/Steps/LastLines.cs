using BuildFarm.Worker.Execution;

namespace BuildFarm.Worker.Steps;

/// <summary>Forwards output and keeps the last lines of each stream, for the report of a failed step. Streams are
/// kept apart because stdout and stderr arrive through separate pipes: a burst of stdout must not push the error
/// message out of the report.</summary>
internal sealed class LastLines(IProgress<OutputLine>? inner, int capacityPerStream) : IProgress<OutputLine>
{
    private readonly Queue<(long Sequence, OutputLine Line)> _stdout = new();
    private readonly Queue<(long Sequence, OutputLine Line)> _stderr = new();
    private readonly Lock _gate = new();
    private long _sequence;

    public void Report(OutputLine value)
    {
        lock (_gate)
        {
            var queue = value.Stream == OutputStream.Stderr ? _stderr : _stdout;
            queue.Enqueue((_sequence++, value));
            while (queue.Count > capacityPerStream) queue.Dequeue();
        }
        inner?.Report(value);
    }

    /// <summary>The kept lines of both streams, in the order they arrived.</summary>
    public IReadOnlyList<OutputLine> Snapshot()
    {
        lock (_gate) return _stdout.Concat(_stderr).OrderBy(e => e.Sequence).Select(e => e.Line).ToList();
    }
}
