using System.Runtime.CompilerServices;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.TestSupport;

/// <summary>A real store with its calls counted, so a test can say which calls a feature makes.</summary>
public sealed class CountingContentStore(IContentStore inner) : IContentStore
{
    private int _exists, _opens, _puts;

    public int Exists => _exists;
    public int Opens => _opens;
    public int Puts => _puts;

    public string Location => inner.Location;

    public Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _exists);
        return inner.ExistsAsync(digest, cancellationToken);
    }

    public Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) => inner.GetSizeAsync(digest, cancellationToken);

    public Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _opens);
        return inner.OpenAsync(digest, cancellationToken);
    }

    public Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _puts);
        return inner.PutAsync(content, expected, cancellationToken);
    }

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default) => inner.DeleteAsync(digest, cancellationToken);

    public async IAsyncEnumerable<BlobInfo> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var blob in inner.ListAsync(cancellationToken)) yield return blob;
    }
}
