using BuildFarm.Worker.Snapshots;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>The real unpacker, counting how often it runs (and slowed a little so concurrent callers overlap).</summary>
public sealed class CountingUnpacker : ILayerUnpacker
{
    private readonly OciLayerUnpacker _inner = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public async Task UnpackAsync(Stream blob, LayerRef layer, string targetDirectory, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _count);
        await Task.Delay(200, cancellationToken);
        await _inner.UnpackAsync(blob, layer, targetDirectory, cancellationToken);
    }
}
