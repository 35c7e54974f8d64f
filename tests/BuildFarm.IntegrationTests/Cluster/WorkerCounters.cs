namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>One element of <c>buildfarm workers --format json</c>: a worker's own counters, as the farm reports them.</summary>
public sealed record WorkerCounters(string Id, int Pid, string? Address, int Slots, int Running, long StepsExecuted, long LocalCacheBytes);
