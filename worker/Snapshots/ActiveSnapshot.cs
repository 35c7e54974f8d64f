namespace BuildFarm.Worker.Snapshots;

/// <summary>A mounted filesystem. Disposing unmounts it and deletes its upper directory; it never throws
/// for a mount already gone, so every path (success, failure, cancellation) can dispose it.</summary>
public sealed class ActiveSnapshot : IAsyncDisposable
{
    private readonly Func<ActiveSnapshot, ValueTask> _release;
    private int _released;

    internal ActiveSnapshot(string rootPath, string? upperPath, string workingPath, Func<ActiveSnapshot, ValueTask> release,
        string? copiedFrom = null)
    {
        CopiedFrom = copiedFrom;
        RootPath = rootPath;
        UpperPath = upperPath;
        WorkingPath = workingPath;
        _release = release;
    }

    /// <summary>The merged view: the container's rootfs, or the source tree of a copy.</summary>
    public string RootPath { get; }

    /// <summary>Where the changes land (null for a read-only view).</summary>
    public string? UpperPath { get; }

    /// <summary>The folder owning this snapshot's mount point, upper and work directories.</summary>
    internal string WorkingPath { get; }

    /// <summary>Set when overlay could not be used: the root is a full copy of this (flattened) parent folder,
    /// and sealing computes the upper directory by comparing the two.</summary>
    internal string? CopiedFrom { get; }

    /// <summary>The leases on the chain's layers, released with the snapshot: no prune removes them meanwhile.</summary>
    internal IReadOnlyList<IDisposable> Leases { get; set; } = [];

    internal bool TryMarkReleased() => Interlocked.Exchange(ref _released, 1) == 0;

    public ValueTask DisposeAsync() => _release(this);
}
