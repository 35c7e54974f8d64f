using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>
/// A content-addressable blob store (like containerd's content.Store): blobs are named by their digest,
/// verified on the way in and on the way out. Implementations: a local folder, S3.
/// </summary>
public interface IContentStore
{
    /// <summary>Where this store lives, for error messages (a folder path or an S3 endpoint/bucket).</summary>
    string Location { get; }

    Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default);

    /// <summary>Size of the blob, or null when absent.</summary>
    Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default);

    /// <summary>Opens the blob; the stream throws <see cref="BlobCorruptedException"/> (after removing the blob) when the
    /// bytes read do not hash to <paramref name="digest"/>. Throws <see cref="BlobNotFoundException"/> when absent.
    /// Remote stores throw <see cref="ContentStoreUnavailableException"/> when unreachable within their timeout.</summary>
    Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="content"/> and returns its digest. When <paramref name="expected"/> is given
    /// and the content does not match, nothing becomes visible and the call throws <see cref="DigestMismatchException"/>.
    /// When the blob is already present the content is not read (put-if-absent). A second writer of the same digest is
    /// harmless; a writer that dies or is cancelled leaves nothing visible.</summary>
    Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default);

    Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default);

    IAsyncEnumerable<BlobInfo> ListAsync(CancellationToken cancellationToken = default);
}
