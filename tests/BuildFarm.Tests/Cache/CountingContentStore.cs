using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Cache;

/// <summary>A real store that counts the blobs opened through it, to prove what a cache in front of it fetches.</summary>
public sealed class CountingContentStore(IContentStore inner) : IContentStore
{
    private int _opens;

    public int Opens => Volatile.Read(ref _opens);

    public string Location => inner.Location;
    public Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) => inner.ExistsAsync(digest, cancellationToken);
    public Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) => inner.GetSizeAsync(digest, cancellationToken);

    public Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opens);
        return inner.OpenAsync(digest, cancellationToken);
    }

    public Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default) =>
        inner.PutAsync(content, expected, cancellationToken);

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default) => inner.DeleteAsync(digest, cancellationToken);
    public IAsyncEnumerable<BlobInfo> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}
