namespace BuildFarm.Worker.Snapshots;

/// <summary>Keeps one extracted layer from being pruned (by this process or another) until disposed (once).</summary>
internal sealed class LayerLease(LayerIndex index, string hex) : IDisposable
{
    private int _disposed;

    public string Hex => hex;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) index.Release(hex);
    }
}
