using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using BuildFarm.TestSupport;

namespace BuildFarm.IntegrationTests.Cache;

/// <summary>The worker-local LRU blob cache in front of the real S3 server (radosgw).</summary>
[Collection(S3ServerCollection.Name)]
public sealed class WorkerBlobCacheS3Tests(S3ServerFixture server) : IDisposable
{
    private readonly string _local = Directory.CreateTempSubdirectory("bf-wbc").FullName;

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
    public async Task Blob_cache_in_front_of_s3_fetches_each_blob_once_and_stays_under_its_cap()
    {
        using var cache = ContentStoreFactory.Open(server.Options($"wbc{Guid.NewGuid():N}"[..16]));
        var blobs = new List<(Digest Digest, byte[] Bytes)>();
        for (var i = 0; i < 4; i++)
        {
            var bytes = Bytes(300_000, 70 + i);
            blobs.Add((await cache.Blobs.PutAsync(new MemoryStream(bytes)), bytes));
        }
        var upstream = new CountingContentStore(cache.Blobs);
        var worker = new CachingContentStore(upstream, _local, 1_000_000);

        // 8 readers of each blob at once, twice over: the second round is all local hits except what eviction removed.
        foreach (var (digest, bytes) in blobs)
        {
            var reads = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ReadAsync(worker, digest))));
            Assert.All(reads, r => Assert.Equal(bytes, r));
        }

        Assert.Equal(4, upstream.Opens);
        Assert.InRange(worker.LocalBytes, 1, 1_000_000);
        Assert.Equal(await worker.LocalSizeAsync(), worker.LocalBytes);
        Assert.False(await worker.Local.ExistsAsync(blobs[0].Digest)); // the least recently used went first
        Assert.True(await worker.Local.ExistsAsync(blobs[3].Digest));
    }

    [Fact]
    public async Task Blobs_held_locally_are_served_while_the_shared_store_is_down()
    {
        using var cache = ContentStoreFactory.Open(server.Options($"wbc{Guid.NewGuid():N}"[..16]) with
        {
            OperationTimeout = TimeSpan.FromSeconds(4), RequestTimeout = TimeSpan.FromSeconds(2),
        });
        var bytes = Bytes(200_000, 80);
        var digest = await cache.Blobs.PutAsync(new MemoryStream(bytes));
        var worker = new CachingContentStore(cache.Blobs, _local, 1 << 20);
        await ReadAsync(worker, digest);

        await server.StopGatewayAsync();
        try
        {
            Assert.Equal(bytes, await ReadAsync(worker, digest));
            // A restarted worker rebuilds its index from its folder and still needs no store for it.
            Assert.Equal(bytes, await ReadAsync(new CachingContentStore(cache.Blobs, _local, 1 << 20), digest));
            var missing = Digest.Compute("not here"u8);
            var e = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => ReadAsync(worker, missing));
            Assert.Contains(server.Endpoint, e.Message);
        }
        finally
        {
            await server.StartGatewayAsync();
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_local, recursive: true); } catch (IOException) { }
    }
}
