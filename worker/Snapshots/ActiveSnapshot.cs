namespace BuildFarm.Worker.Snapshots;

/// <summary>A mounted filesystem. Disposing unmounts it and deletes its upper directory; it never throws
/// for a mount already gone, so every path (success, failure, cancellation) can dispose it.</summary>
public sealed class ActiveSnapshot : IAsyncDisposable
{
    private readonly Func<ActiveSnapshot, ValueTask> _release;
    private int _released;

    internal ActiveSnapshot(string rootPath, string? upperPath, string workingPath, Func<ActiveSnapshot, ValueTask> release)
    {
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

    internal bool TryMarkReleased() => Interlocked.Exchange(ref _released, 1) == 0;

    public ValueTask DisposeAsync() => _release(this);
}
