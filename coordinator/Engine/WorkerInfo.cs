namespace BuildFarm.Coordinator.Engine;

/// <summary>One worker of the farm as <see cref="EngineNode.ListWorkersAsync"/> reports it; the counters are the worker's own.</summary>
public sealed record WorkerInfo(string Id, int Pid, string Address, int Slots, int Running, long StepsExecuted, long LocalCacheBytes)
{
    /// <summary>Platforms its RUN steps execute natively, and under emulation (empty from a worker that advertised none).</summary>
    public IReadOnlyList<string> Platforms { get; init; } = [];
    public IReadOnlyList<string> EmulatedPlatforms { get; init; } = [];
}
