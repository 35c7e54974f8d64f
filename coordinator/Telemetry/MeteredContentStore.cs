using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Telemetry;

/// <summary>A content store that counts the bytes read from and written to the store it wraps.</summary>
public sealed class MeteredContentStore(IContentStore inner, FarmMetrics metrics) : IContentStore
{
    public string Location => inner.Location;

    public Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) => inner.ExistsAsync(digest, cancellationToken);

    public Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) => inner.GetSizeAsync(digest, cancellationToken);

    public async Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default) =>
        new CountingStream(await inner.OpenAsync(digest, cancellationToken), metrics.StoreRead);

    /// <summary>Counts what the store consumed of <paramref name="content"/>: nothing when the blob was already there.</summary>
    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        await using var counting = new CountingStream(content, metrics.StoreWritten, leaveOpen: true);
        return await inner.PutAsync(counting, expected, cancellationToken);
    }

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default) => inner.DeleteAsync(digest, cancellationToken);

    public IAsyncEnumerable<BlobInfo> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}
