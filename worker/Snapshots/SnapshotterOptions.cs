namespace BuildFarm.Worker.Snapshots;

/// <summary>Where a worker keeps extracted layers and mounts. Keep <see cref="Root"/> short: overlay
/// options (one path per layer) must fit in one page.</summary>
public sealed record SnapshotterOptions(string Root)
{
    /// <summary>Extracted layers kept (bytes of their regular files); past it the least recently used layers no mount
    /// uses are removed, and extracted again from the blob store when next needed. A soft cap: leased layers stay.</summary>
    public long CapacityBytes { get; init; } = DefaultCapacityBytes;

    /// <summary>16 GiB.</summary>
    public const long DefaultCapacityBytes = 16L << 30;

    /// <summary>Longest overlay option string we pass to mount(2); the kernel takes one page.</summary>
    public int MaxMountOptionsLength { get; init; } = 4000;

    /// <summary>Stack layers in one mount(2) option string, as on kernels before 6.8 that lack overlay's
    /// <c>lowerdir+</c> (chosen by itself there).</summary>
    public bool MountSyscallOnly { get; init; }

    /// <summary>Never use overlayfs: copy the parent for each step and diff by walking (slow; for filesystems
    /// where overlay is unavailable — the snapshotter also falls back by itself when an overlay mount fails).</summary>
    public bool CopyInsteadOfOverlay { get; init; }

    /// <summary>Where unpack timings go (BUILDFARM_TRACE=1); null: nowhere.</summary>
    public TextWriter? Trace { get; init; }
}
