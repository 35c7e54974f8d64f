using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Execution;

/// <summary>A cache directory in use; disposing releases its lock (for locked and private sharing).</summary>
public sealed class CacheMountLease : IDisposable
{
    private readonly IDisposable? _lock;

    internal CacheMountLease(string path, FileLock? held)
    {
        Path = path;
        _lock = held;
    }

    public string Path { get; }

    public void Dispose() => _lock?.Dispose();
}
