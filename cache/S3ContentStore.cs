using System.Runtime.CompilerServices;
using BuildFarm.Oci;
using Minio.DataModel.Args;

namespace BuildFarm.Cache;

/// <summary>A content store in an S3 bucket through the Minio SDK: <c>[ns/&lt;team&gt;/]blobs/sha256/&lt;hex&gt;</c>.
/// Put is put-if-absent (HEAD first); blobs up to <see cref="ContentStoreOptions.MultipartThresholdBytes"/> go up in one
/// streamed PUT, larger ones as a multipart upload. The upload source is wrapped so that the last bytes are only handed
/// over after the digest checked out; a mismatch or a dead writer therefore never completes the PUT or the multipart
/// upload, and S3 shows objects only when complete. Reads are verified while streaming; a corrupted object is removed.</summary>
public sealed class S3ContentStore(S3Connection connection) : IContentStore
{
    public S3Connection Connection { get; } = connection;

    public string Location => Connection.Location;

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) =>
        await GetSizeAsync(digest, cancellationToken) is not null;

    public async Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) =>
        (await Connection.StatAsync(StoreLayout.BlobName(digest), cancellationToken))?.Size;

    public async Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        var response = await Connection.GetAsync(StoreLayout.BlobName(digest), cancellationToken)
                       ?? throw new BlobNotFoundException(digest, Location);
        try
        {
            var length = response.Content.Headers.ContentLength
                         ?? throw new IOException($"GET {digest} from {Location}: no Content-Length");
            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            return new VerifyingReadStream(body, digest, length, Location, token => DeleteAsync(digest, token), response,
                Connection.Options.RequestTimeout);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        if (expected is { } known && await ExistsAsync(known, cancellationToken)) return known;

        string? spool = null;
        Stream source = content;
        try
        {
            long start, length;
            Digest digest;
            if (content.CanSeek)
            {
                start = content.Position;
                length = content.Length - start;
                if (expected is { } e) digest = e;
                else
                {
                    digest = await Digest.ComputeAsync(content, cancellationToken);
                    content.Position = start;
                }
            }
            else
            {
                // An unseekable stream is spooled: the SDK needs the size up front (or buffers 50 MiB parts), a retry
                // needs the bytes again, and the digest is then known before anything is sent.
                (spool, digest) = await SpoolAsync(content, expected, cancellationToken);
                source = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                start = 0;
                length = source.Length;
            }
            if (length == 0 && digest != Digest.Compute([]))
                throw new DigestMismatchException(digest, Digest.Compute([]), Location);
            if (expected is null && await ExistsAsync(digest, cancellationToken)) return digest;

            var name = StoreLayout.BlobName(digest);
            await Connection.Resilience.TransferAsync($"upload {digest}", Connection.Options.TransferDeadline(length), async token =>
            {
                source.Position = start;
                using var verifying = new HashingReadStream(source, digest, length, Location);
                if (length <= Connection.Options.MultipartThresholdBytes)
                {
                    await Connection.PutStreamAsync(name, verifying, length, token);
                    return true;
                }
                await Connection.Client.PutObjectAsync(new PutObjectArgs()
                    .WithBucket(Connection.Bucket).WithObject(Connection.Key(name))
                    .WithStreamData(verifying).WithObjectSize(length)
                    .WithContentType("application/octet-stream"), token);
                return true;
            }, cancellationToken);
            return digest;
        }
        finally
        {
            if (spool is not null)
            {
                await source.DisposeAsync();
                File.Delete(spool);
            }
        }
    }

    private async Task<(string Path, Digest Digest)> SpoolAsync(Stream content, Digest? expected, CancellationToken cancellationToken)
    {
        var dir = Connection.Options.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "buildfarm-spool");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{Guid.NewGuid():N}.tmp");
        try
        {
            using var hashing = new HashingReadStream(content, expected, null, Location);
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
                await hashing.CopyToAsync(file, 1 << 20, cancellationToken);
            return (path, hashing.Digest);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default) =>
        Connection.DeleteAsync(StoreLayout.BlobName(digest), cancellationToken);

    public async IAsyncEnumerable<BlobInfo> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var item in await Connection.ListAsync(StoreLayout.Blobs, cancellationToken))
            if (StoreLayout.TryParseBlobName(item.Name, out var digest))
                yield return new BlobInfo(digest, item.Size, item.LastModified);
    }
}
