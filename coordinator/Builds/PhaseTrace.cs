using System.Diagnostics;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// Phase timings of one build (the CLI writes them to stderr when <c>BUILDFARM_TRACE=1</c>): where a build's fixed cost goes
/// (planning, context checksums, waiting for the engine, the step graph, export) without a profiler.
/// </summary>
public sealed class PhaseTrace
{
    private readonly TextWriter? _output;
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private readonly Stopwatch _phase = Stopwatch.StartNew();

    public PhaseTrace(TextWriter? output) => _output = output;

    /// <summary>Ends the current phase under <paramref name="name"/> and starts the next one.</summary>
    public void Mark(string name)
    {
        if (_output is null) return;
        _output.WriteLine($"trace: {name,-16} {_phase.Elapsed.TotalMilliseconds,8:F1} ms  (at {_total.Elapsed.TotalMilliseconds:F1} ms)");
        _phase.Restart();
    }
}
