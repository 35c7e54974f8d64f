namespace BuildFarm.Coordinator.Telemetry;

/// <summary>What one worker pool holds at a moment, by team: published by the pool actor, read on scrape.</summary>
public sealed record PoolSnapshot(
    IReadOnlyDictionary<string, int> RunningByTeam,
    IReadOnlyDictionary<string, int> QueuedByTeam,
    IReadOnlyList<WorkerSlots> Workers)
{
    public static PoolSnapshot Empty { get; } = new(new Dictionary<string, int>(), new Dictionary<string, int>(), []);
}
