using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Cache;

public sealed class CachingContentStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalContentStore _shared;

    public CachingContentStoreTests() => _shared = new LocalContentStore(_dir.Sub("shared"));

    private static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static async Task<byte[]> ReadAsync(IContentStore store, Digest digest)
    {
        await using var s = await store.OpenAsync(digest);
        using var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    [Fact]
    public async Task First_read_fetches_from_the_shared_store_and_later_reads_are_local()
    {
        var bytes = Bytes(10_000, 1);
        var digest = await _shared.PutAsync(new MemoryStream(bytes));
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 1 << 20);

        Assert.Equal(bytes, await ReadAsync(worker, digest));
        Assert.True(await worker.Local.ExistsAsync(digest));
        await _shared.DeleteAsync(digest); // the shared copy is gone: only the local copy can answer now
        Assert.Equal(bytes, await ReadAsync(worker, digest));
    }

    [Fact]
    public async Task Concurrent_readers_of_a_missing_blob_share_one_download()
    {
        var bytes = Bytes(2 << 20, 2);
        var digest = await _shared.PutAsync(new MemoryStream(bytes));
        var upstream = new CountingContentStore(_shared);
        var worker = new CachingContentStore(upstream, _dir.Sub("worker"), 64 << 20);
        var reads = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => ReadAsync(worker, digest))));
        Assert.All(reads, r => Assert.Equal(bytes, r));
        Assert.Equal(1, upstream.Opens);
        Assert.Single(await worker.Local.ListAsync().ToListAsync());
        Assert.Empty(Directory.Exists(worker.Local.IngestDirectory) ? Directory.GetFiles(worker.Local.IngestDirectory) : []);
    }

    [Fact]
    public async Task Local_cache_stays_under_its_capacity_by_evicting_the_least_recently_used()
    {
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 250_000);
        var digests = new List<Digest>();
        for (var i = 0; i < 3; i++)
        {
            digests.Add(await _shared.PutAsync(new MemoryStream(Bytes(100_000, 10 + i))));
            await ReadAsync(worker, digests[^1]);
            File.SetLastWriteTimeUtc(worker.Local.GetBlobPath(digests[^1]), DateTime.UtcNow.AddMinutes(-10 + i)); // distinct access times
        }
        // Two fit; reading the third evicted the oldest (0). Now use 1 again so that 2 is the least recently used.
        Assert.False(await worker.Local.ExistsAsync(digests[0]));
        await ReadAsync(worker, digests[1]);
        digests.Add(await _shared.PutAsync(new MemoryStream(Bytes(100_000, 20))));
        await ReadAsync(worker, digests[3]);

        Assert.True(await worker.LocalSizeAsync() <= 250_000);
        Assert.True(await worker.Local.ExistsAsync(digests[1]));
        Assert.False(await worker.Local.ExistsAsync(digests[2]));
        Assert.True(await worker.Local.ExistsAsync(digests[3]));
        Assert.Equal(Bytes(100_000, 10), await ReadAsync(worker, digests[0])); // evicted blobs are fetched again
    }

    [Fact]
    public async Task Blob_bigger_than_the_cache_is_streamed_from_the_shared_store()
    {
        var bytes = Bytes(300_000, 3);
        var digest = await _shared.PutAsync(new MemoryStream(bytes));
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 100_000);
        Assert.Equal(bytes, await ReadAsync(worker, digest));
        Assert.Empty(await worker.Local.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Put_writes_through_to_the_shared_store()
    {
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 1 << 20);
        var bytes = Bytes(5000, 4);
        var digest = await worker.PutAsync(new MemoryStream(bytes));
        Assert.Equal(bytes, await ReadAsync(_shared, digest));
        Assert.True(await worker.Local.ExistsAsync(digest));
    }

    [Fact]
    public async Task Corrupted_local_copy_is_removed_and_fetched_again()
    {
        var bytes = Bytes(10_000, 5);
        var digest = await _shared.PutAsync(new MemoryStream(bytes));
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 1 << 20);
        await ReadAsync(worker, digest);
        var bad = (byte[])bytes.Clone();
        bad[0] ^= 1;
        await File.WriteAllBytesAsync(worker.Local.GetBlobPath(digest), bad);

        await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAsync(worker, digest));
        Assert.Equal(bytes, await ReadAsync(worker, digest));
        Assert.Equal(bytes, await ReadAsync(_shared, digest)); // the shared copy was never touched
    }

    [Fact]
    public async Task Blob_being_read_is_never_evicted()
    {
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 250_000);
        var digests = new List<Digest>();
        for (var i = 0; i < 3; i++) digests.Add(await _shared.PutAsync(new MemoryStream(Bytes(100_000, 30 + i))));
        var reader = await worker.OpenAsync(digests[0]); // the least recently used, but open
        var first = new byte[10];
        await reader.ReadExactlyAsync(first);

        await ReadAsync(worker, digests[1]);
        await ReadAsync(worker, digests[2]); // over the capacity: 1 is the oldest not in use

        Assert.True(await worker.Local.ExistsAsync(digests[0]));
        Assert.False(await worker.Local.ExistsAsync(digests[1]));
        Assert.True(await worker.Local.ExistsAsync(digests[2]));
        using (var rest = new MemoryStream())
        {
            await reader.CopyToAsync(rest); // verified at its last byte
            Assert.Equal(Bytes(100_000, 30), first.Concat(rest.ToArray()).ToArray());
        }
        await reader.DisposeAsync();

        await ReadAsync(worker, digests[1]); // fetched again; now 0 is the least recently used and free to go
        Assert.False(await worker.Local.ExistsAsync(digests[0]));
        Assert.InRange(worker.LocalBytes, 1, 250_000);
    }

    [Fact]
    public async Task Restarted_cache_rebuilds_its_index_from_disk_and_removes_dead_writers_partial_files()
    {
        var folder = _dir.Sub("worker");
        var first = new CachingContentStore(_shared, folder, 350_000);
        var digests = new List<Digest>();
        for (var i = 0; i < 3; i++)
        {
            digests.Add(await _shared.PutAsync(new MemoryStream(Bytes(100_000, 40 + i))));
            await ReadAsync(first, digests[^1]);
            File.SetLastWriteTimeUtc(first.Local.GetBlobPath(digests[^1]), DateTime.UtcNow.AddMinutes(-10 + i));
        }
        var deadPid = Enumerable.Range(3_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
        var partial = Path.Combine(first.Local.IngestDirectory, $"{deadPid}-{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(partial, Bytes(50_000, 49));
        var live = Path.Combine(first.Local.IngestDirectory, $"{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(live, Bytes(10, 48)); // a write in progress in a process that still runs

        var restarted = new CachingContentStore(_shared, folder, 350_000);

        Assert.False(File.Exists(partial));
        Assert.True(File.Exists(live));
        Assert.Equal(300_000, restarted.LocalBytes);
        Assert.Equal(3, restarted.LocalCount);
        // The order of use survived the restart: adding a fourth blob evicts the oldest, 0.
        digests.Add(await _shared.PutAsync(new MemoryStream(Bytes(100_000, 43))));
        await ReadAsync(restarted, digests[3]);
        Assert.False(await restarted.Local.ExistsAsync(digests[0]));
        Assert.True(await restarted.Local.ExistsAsync(digests[1]));
        Assert.Equal(await restarted.LocalSizeAsync(), restarted.LocalBytes);
    }

    [Fact]
    public async Task Corrupted_local_copy_found_after_a_restart_is_fetched_again_without_an_error()
    {
        var bytes = Bytes(10_000, 6);
        var digest = await _shared.PutAsync(new MemoryStream(bytes));
        var upstream = new CountingContentStore(_shared);
        var folder = _dir.Sub("worker");
        await ReadAsync(new CachingContentStore(upstream, folder, 1 << 20), digest);
        var path = new LocalContentStore(folder).GetBlobPath(digest);
        var bad = (byte[])bytes.Clone();
        bad[^1] ^= 1; // same length: only the hash can tell (as a crash before the data reached the disk may leave it)
        await File.WriteAllBytesAsync(path, bad);

        var restarted = new CachingContentStore(upstream, folder, 1 << 20);

        Assert.Equal(bytes, await ReadAsync(restarted, digest));
        Assert.Equal(2, upstream.Opens);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal(bytes, await ReadAsync(restarted, digest)); // checked once: the next read is served as it is
        Assert.Equal(2, upstream.Opens);
    }

    [Fact]
    public async Task Local_bytes_is_a_running_total_of_the_folder()
    {
        var worker = new CachingContentStore(_shared, _dir.Sub("worker"), 1 << 20);
        for (var i = 0; i < 5; i++)
        {
            await ReadAsync(worker, await _shared.PutAsync(new MemoryStream(Bytes(1000 * (i + 1), 50 + i))));
            await worker.PutAsync(new MemoryStream(Bytes(700 * (i + 1), 60 + i)));
        }
        await worker.DeleteAsync((await worker.Local.ListAsync().FirstAsync()).Digest);

        Assert.Equal(await worker.LocalSizeAsync(), worker.LocalBytes);
        Assert.Equal(9, worker.LocalCount);
    }

    public void Dispose() => _dir.Dispose();
}
