namespace BuildFarm.Worker.Snapshots;

/// <summary>Where a worker keeps extracted layers and mounts. Keep <see cref="Root"/> short: overlay
/// options (one path per layer) must fit in one page.</summary>
public sealed record SnapshotterOptions(string Root)
{
    /// <summary>Longest overlay option string we pass to mount(2); the kernel takes one page.</summary>
    public int MaxMountOptionsLength { get; init; } = 4000;
}
