using BuildFarm.Worker.Execution;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Keeps every reported line, synchronously and in order (Progress&lt;T&gt; would post to the thread pool).</summary>
public sealed class CollectingProgress : IProgress<OutputLine>
{
    private readonly List<OutputLine> _lines = [];
    private readonly Lock _gate = new();

    public event Action<OutputLine>? Reported;

    public IReadOnlyList<OutputLine> Lines
    {
        get { lock (_gate) return _lines.ToList(); }
    }

    public void Report(OutputLine value)
    {
        lock (_gate) _lines.Add(value);
        Reported?.Invoke(value);
    }
}
