using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>
/// A worker-local, size-capped LRU blob cache on disk in front of a shared store.
/// <list type="bullet">
/// <item>An in-memory index (digest → size, last use) is rebuilt from the folder on start, after removing the temp
/// files of writers that died; <see cref="LocalBytes"/> is its running total (no scan).</item>
/// <item>Reads are served from the local folder; a miss is fetched once however many readers ask at the same moment,
/// verified while written and kept. A blob found on disk is hashed once before this process first serves it (a crash
/// can leave damaged files: no fsync), so a damaged copy is removed and fetched again, never handed out.</item>
/// <item>Puts write through: local first, then upstream from the local file.</item>
/// <item>Past the capacity, least recently used blobs are removed down to 90 % of it (so a full cache does not rescan
/// per added blob); a blob being read, written or fetched is never removed. Each eviction pass rescans the folder
/// first, so other processes sharing it are accounted for.</item>
/// </list>
/// </summary>
public sealed class CachingContentStore : IContentStore
{
    private readonly IContentStore _upstream;
    private readonly LocalContentStore _local;
    private readonly long _capacity;
    private readonly long _lowWater;
    private readonly object _gate = new();
    private readonly Dictionary<Digest, LocalBlob> _index = new();  // guarded by _gate
    private readonly Dictionary<Digest, int> _inUse = new();        // readers, writers, fetches; guarded by _gate
    private readonly Dictionary<Digest, Task> _fetches = new();     // guarded by _gate
    private readonly SemaphoreSlim _evictLock = new(1, 1);
    private long _bytes;                                             // sum of _index sizes

    public CachingContentStore(IContentStore upstream, string localDirectory, long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        _upstream = upstream;
        _local = new LocalContentStore(localDirectory);
        _capacity = capacityBytes;
        _lowWater = capacityBytes - capacityBytes / 10;
        _local.RemoveDeadWritersIngest();
        Rescan();
    }

    public string Location => $"{_upstream.Location} (local cache {_local.Root})";

    public IContentStore Upstream => _upstream;
    public LocalContentStore Local => _local;

    /// <summary>Most bytes kept locally (a soft cap: blobs in use stay even past it).</summary>
    public long CapacityBytes => _capacity;

    /// <summary>Bytes of the blobs held locally, from the running total (cheap: no scan).</summary>
    public long LocalBytes => Interlocked.Read(ref _bytes);

    /// <summary>How many blobs are held locally.</summary>
    public int LocalCount
    {
        get { lock (_gate) return _index.Count; }
    }

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) =>
        await _local.ExistsAsync(digest, cancellationToken) || await _upstream.ExistsAsync(digest, cancellationToken);

    public async Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default) =>
        await _local.GetSizeAsync(digest, cancellationToken) ?? await _upstream.GetSizeAsync(digest, cancellationToken);

    public async Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        var lease = Acquire(digest); // held by the returned stream: eviction leaves this blob alone until it is disposed
        try
        {
            if (await TryOpenLocalAsync(digest, lease, cancellationToken) is { } hit) return hit;
            var size = await _upstream.GetSizeAsync(digest, cancellationToken) ?? throw new BlobNotFoundException(digest, _upstream.Location);
            if (size <= _capacity)
            {
                await FetchOnceAsync(digest, cancellationToken);
                await EvictIfNeededAsync(cancellationToken);
                if (await TryOpenLocalAsync(digest, lease, cancellationToken) is { } fetched) return fetched;
            }
            // Bigger than the whole cache (or removed by another process sharing the folder): stream from upstream.
            lease.Dispose();
            return await _upstream.OpenAsync(digest, cancellationToken);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private async Task<Stream?> TryOpenLocalAsync(Digest digest, Lease lease, CancellationToken cancellationToken)
    {
        var path = _local.GetBlobPath(digest);
        FileStream file;
        try
        {
            file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan, BufferSize = 0,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Forget(digest);
            return null;
        }
        try
        {
            if (!IsVerified(digest, file.Length))
            {
                var actual = await Digest.ComputeAsync(file, cancellationToken);
                if (actual != digest)
                {
                    System.Diagnostics.Trace.TraceWarning($"local cache: {path} hashes to {actual}, not {digest}; fetching it again");
                    await file.DisposeAsync();
                    RemoveLocal(digest);
                    return null;
                }
                file.Position = 0;
            }
            Record(digest, file.Length, verified: true);
            Touch(path);
            // Still verified while streamed: bytes damaged later on this disk fail the read and the copy is removed.
            return new VerifyingReadStream(file, digest, file.Length, _local.Location, _ =>
            {
                RemoveLocal(digest);
                return Task.CompletedTask;
            }, lease);
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    /// <summary>Fetches a missing blob into the local folder; concurrent callers for one digest share one download,
    /// which one caller's cancellation does not stop.</summary>
    private async Task FetchOnceAsync(Digest digest, CancellationToken cancellationToken)
    {
        Task fetch;
        lock (_gate)
        {
            // A fetch that finished between the caller's local miss and now has recorded the blob before leaving _fetches.
            if (_index.ContainsKey(digest)) return;
            if (!_fetches.TryGetValue(digest, out fetch!))
            {
                fetch = Task.Run(() => FetchAsync(digest), CancellationToken.None);
                _fetches[digest] = fetch;
            }
        }
        await fetch.WaitAsync(cancellationToken);
    }

    private async Task FetchAsync(Digest digest)
    {
        try
        {
            await using var source = await _upstream.OpenAsync(digest, CancellationToken.None);
            var (temp, written) = await _local.WriteTempAsync(source, digest, CancellationToken.None);
            await _local.CommitAsync(temp, written);
            Record(digest, new FileInfo(_local.GetBlobPath(digest)).Length, verified: true);
        }
        finally
        {
            lock (_gate) _fetches.Remove(digest);
        }
    }

    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        if (expected is { } known && await _local.ExistsAsync(known, cancellationToken) && await _upstream.ExistsAsync(known, cancellationToken))
        {
            Touch(_local.GetBlobPath(known));
            return known;
        }
        var (temp, digest) = await _local.WriteTempAsync(content, expected, cancellationToken);
        using (Acquire(digest))
        {
            await _local.CommitAsync(temp, digest);
            var path = _local.GetBlobPath(digest);
            Record(digest, new FileInfo(path).Length, verified: true);
            await using (var file = File.OpenRead(path))
                await _upstream.PutAsync(file, digest, cancellationToken);
        }
        await EvictIfNeededAsync(cancellationToken);
        return digest;
    }

    public async Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        RemoveLocal(digest);
        await _upstream.DeleteAsync(digest, cancellationToken);
    }

    public IAsyncEnumerable<BlobInfo> ListAsync(CancellationToken cancellationToken = default) => _upstream.ListAsync(cancellationToken);

    /// <summary>What the local folder holds now (a scan; <see cref="LocalBytes"/> is the cheap running total).</summary>
    public async Task<long> LocalSizeAsync(CancellationToken cancellationToken = default)
    {
        long total = 0;
        await foreach (var blob in _local.ListAsync(cancellationToken)) total += blob.Size;
        return total;
    }

    /// <summary>Removes least recently used blobs that nobody reads, writes or fetches until the folder is back under
    /// 90 % of its capacity; nothing when it is within the capacity.</summary>
    private async Task EvictIfNeededAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Read(ref _bytes) <= _capacity) return;
        await _evictLock.WaitAsync(cancellationToken);
        try
        {
            if (Interlocked.Read(ref _bytes) <= _capacity) return;
            Rescan();
            var victims = new List<Digest>();
            lock (_gate)
            {
                foreach (var (digest, blob) in _index.OrderBy(e => e.Value.LastUse).ToList())
                {
                    if (_bytes <= _lowWater) break;
                    if (_inUse.ContainsKey(digest) || _fetches.ContainsKey(digest)) continue;
                    _index.Remove(digest);
                    _bytes -= blob.Size;
                    victims.Add(digest);
                }
            }
            foreach (var victim in victims) TryDelete(_local.GetBlobPath(victim));
        }
        finally { _evictLock.Release(); }
    }

    /// <summary>Makes the index match the folder: files another process added or removed, sizes that changed.</summary>
    private void Rescan()
    {
        var onDisk = new Dictionary<Digest, BlobInfo>();
        foreach (var blob in _local.ListAsync().ToBlockingEnumerable()) onDisk[blob.Digest] = blob;
        lock (_gate)
        {
            foreach (var digest in _index.Keys.Where(d => !onDisk.ContainsKey(d)).ToList()) _index.Remove(digest);
            foreach (var (digest, blob) in onDisk)
            {
                if (_index.TryGetValue(digest, out var known) && known.Size == blob.Size) continue;
                _index[digest] = new LocalBlob(blob.Size, blob.LastModified.UtcDateTime, Verified: false);
            }
            _bytes = _index.Values.Sum(b => b.Size);
        }
    }

    private bool IsVerified(Digest digest, long length)
    {
        lock (_gate) return _index.TryGetValue(digest, out var blob) && blob.Verified && blob.Size == length;
    }

    /// <summary>Adds or refreshes a blob in the index: used now.</summary>
    private void Record(Digest digest, long size, bool verified)
    {
        lock (_gate)
        {
            if (_index.TryGetValue(digest, out var known)) _bytes -= known.Size;
            _index[digest] = new LocalBlob(size, DateTime.UtcNow, verified);
            _bytes += size;
        }
    }

    private void Forget(Digest digest)
    {
        lock (_gate)
            if (_index.Remove(digest, out var known)) _bytes -= known.Size;
    }

    private void RemoveLocal(Digest digest)
    {
        Forget(digest);
        TryDelete(_local.GetBlobPath(digest));
    }

    // The file's mtime is the last use across restarts (the index keeps it in memory meanwhile).
    private static void Touch(string path)
    {
        try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); }
        catch (IOException) { } // evicted meanwhile by another process
        catch (UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private Lease Acquire(Digest digest)
    {
        lock (_gate) _inUse[digest] = _inUse.GetValueOrDefault(digest) + 1;
        return new Lease(this, digest);
    }

    private void Release(Digest digest)
    {
        lock (_gate)
            if (--_inUse[digest] == 0) _inUse.Remove(digest);
    }

    /// <summary>Keeps one blob from eviction until disposed (once).</summary>
    private sealed class Lease(CachingContentStore owner, Digest digest) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Release(digest);
        }
    }
}
