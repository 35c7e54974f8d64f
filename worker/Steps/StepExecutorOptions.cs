namespace BuildFarm.Worker.Steps;

/// <summary>Where one worker keeps its state. Keep <see cref="Root"/> short (overlay options hold one path per
/// layer); give concurrent workers (and test runs) different roots.</summary>
public sealed record StepExecutorOptions(string Root)
{
    /// <summary>This worker's host (Protos.HostIdentity): an ssh socket forwarded on another host is relayed, not opened.</summary>
    public string HostIdentity { get; init; } = Protos.HostIdentity.Of(null);

    /// <summary>How many trailing output lines of each stream (stdout, stderr) a result keeps.</summary>
    public int LastOutputLines { get; init; } = 20;

    /// <summary>Extracted layers (snapshots) this worker keeps; past it the least recently used ones that no running step
    /// mounts are removed, and extracted again from the blob cache when next needed. Default 16 GiB.</summary>
    public long SnapshotCacheBytes { get; init; } = Snapshots.SnapshotterOptions.DefaultCapacityBytes;

    /// <summary>cgroup limits (pids, memory, CPU) of every RUN step on this worker.</summary>
    public Execution.ContainerLimits Limits { get; init; } = Execution.ContainerLimits.Default;

    /// <summary>Where unpack timings go (BUILDFARM_TRACE=1); null: nowhere.</summary>
    public TextWriter? Trace { get; init; }
}
