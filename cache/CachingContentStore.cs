using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>A worker-local, size-capped LRU blob cache on disk in front of a shared store. Reads are served from the
/// local folder when present (the file's mtime is the last-access time); misses are fetched once (concurrent readers
/// of one digest share the download), verified and kept. Puts write through: local first, then upstream from the
/// local file. Eviction removes least recently used files until the folder is under its capacity.</summary>
public sealed class CachingContentStore : IContentStore
{
    private readonly IContentStore _upstream;
    private readonly LocalContentStore _local;
    private readonly long _capacity;
    private readonly ConcurrentDictionary<Digest, Task> _fetches = new();
    private readonly SemaphoreSlim _evictLock = new(1, 1);
    // Bytes in the local folder at the last scan plus what this instance added since; -1 until the first scan.
    private long _estimate = -1;

    public CachingContentStore(IContentStore upstream, string localDirectory, long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        _upstream = upstream;
        _local = new LocalContentStore(localDirectory);
        _capacity = capacityBytes;
    }

    public string Location => $"{_upstream.Location} (local cache {_local.Root})";

    public IContentStore Upstream => _upstream;
    public LocalContentStore Local => _local;

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) =>
        await _local.ExistsAsync(digest, cancellationToken) || await _upstream.ExistsAsync(digest, cancellationToken);

    public async Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) =>
        await _local.GetSizeAsync(digest, cancellationToken) ?? await _upstream.GetSizeAsync(digest, cancellationToken);

    public async Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        if (await TryOpenLocalAsync(digest, cancellationToken) is { } hit) return hit;
        await FetchAsync(digest, cancellationToken);
        // Not kept (bigger than the cache, or evicted at once by other readers): stream from upstream.
        return await TryOpenLocalAsync(digest, cancellationToken) ?? await _upstream.OpenAsync(digest, cancellationToken);
    }

    private async Task<Stream?> TryOpenLocalAsync(Digest digest, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await _local.OpenAsync(digest, cancellationToken);
            Touch(digest);
            return stream;
        }
        catch (BlobNotFoundException) { return null; }
    }

    private async Task FetchAsync(Digest digest, CancellationToken cancellationToken)
    {
        var size = await _upstream.GetSizeAsync(digest, cancellationToken) ?? throw new BlobNotFoundException(digest, _upstream.Location);
        if (size > _capacity) return;
        var fetch = _fetches.GetOrAdd(digest, d => Task.Run(async () =>
        {
            try
            {
                await using var source = await _upstream.OpenAsync(d, CancellationToken.None);
                await _local.PutAsync(source, d, CancellationToken.None);
            }
            finally { _fetches.TryRemove(d, out _); }
        }, CancellationToken.None));
        await fetch.WaitAsync(cancellationToken);
        await EvictAsync(digest, size, cancellationToken);
    }

    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        if (expected is { } known && await _local.ExistsAsync(known, cancellationToken) && await _upstream.ExistsAsync(known, cancellationToken))
        {
            Touch(known);
            return known;
        }
        var (temp, digest) = await _local.WriteTempAsync(content, expected, cancellationToken);
        await _local.CommitAsync(temp, digest);
        await using (var file = File.OpenRead(_local.GetBlobPath(digest)))
            await _upstream.PutAsync(file, digest, cancellationToken);
        await EvictAsync(digest, new FileInfo(_local.GetBlobPath(digest)).Length, cancellationToken);
        return digest;
    }

    public async Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        await _local.DeleteAsync(digest, cancellationToken);
        await _upstream.DeleteAsync(digest, cancellationToken);
    }

    public IAsyncEnumerable<BlobInfo> ListAsync(CancellationToken cancellationToken = default) => _upstream.ListAsync(cancellationToken);

    /// <summary>What the local folder holds now.</summary>
    public async Task<long> LocalSizeAsync(CancellationToken cancellationToken = default)
    {
        long total = 0;
        await foreach (var blob in _local.ListAsync(cancellationToken)) total += blob.Size;
        return total;
    }

    private void Touch(Digest digest)
    {
        try { File.SetLastWriteTimeUtc(_local.GetBlobPath(digest), DateTime.UtcNow); }
        catch (IOException) { } // evicted meanwhile
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Removes least recently used blobs until the folder fits its capacity; <paramref name="keep"/> (just
    /// added) goes last. Scans the folder, so other processes sharing it are accounted for too — but only when the
    /// running total says the capacity may be exceeded: a scan per added blob made fetching 5,000 small blobs
    /// quadratic (about 50 s).</summary>
    private async Task EvictAsync(Digest keep, long added, CancellationToken cancellationToken)
    {
        if (Interlocked.Read(ref _estimate) >= 0 && Interlocked.Add(ref _estimate, added) <= _capacity) return;
        await _evictLock.WaitAsync(cancellationToken);
        try
        {
            var blobs = new List<BlobInfo>();
            await foreach (var b in _local.ListAsync(cancellationToken)) blobs.Add(b);
            var total = blobs.Sum(b => b.Size);
            foreach (var victim in blobs.OrderBy(b => b.Digest == keep).ThenBy(b => b.LastModified))
            {
                if (total <= _capacity) break;
                await _local.DeleteAsync(victim.Digest, cancellationToken);
                total -= victim.Size;
            }
            Interlocked.Exchange(ref _estimate, total);
        }
        finally { _evictLock.Release(); }
    }
}
