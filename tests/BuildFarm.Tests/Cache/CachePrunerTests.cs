using System.Text;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Cache;

public sealed class CachePrunerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SharedCache _cache;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    public CachePrunerTests() => _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = _dir.Path });

    private async Task<Digest> BlobAsync(int size, int seed, TimeSpan? age = null)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        var d = await _cache.Blobs.PutAsync(new MemoryStream(b));
        if (age is { } a) File.SetLastWriteTimeUtc(((LocalContentStore)_cache.Blobs).GetBlobPath(d), (_now - a).UtcDateTime);
        return d;
    }

    /// <summary>A record for a layer, last used <paramref name="usedAgo"/> ago (file times are the store's clock).</summary>
    private async Task<string> RecordAsync(string name, Digest layer, long size, TimeSpan usedAgo)
    {
        var key = Digest.Compute(Encoding.UTF8.GetBytes(name));
        await _cache.Records.PutAsync(new StepRecord
        {
            Key = key.ToString(),
            Layer = new Descriptor { MediaType = "application/vnd.oci.image.layer.v1.tar", Digest = layer.ToString(), Size = size },
            Created = _now - usedAgo,
        });
        var when = (_now - usedAgo).UtcDateTime;
        File.SetLastWriteTimeUtc(Path.Combine(_dir.Path, "records", "sha256", key.Hex + ".json"), when);
        File.SetLastWriteTimeUtc(Path.Combine(_dir.Path, "used", "sha256", key.Hex), when);
        return key.ToString();
    }

    [Fact]
    public async Task Pruning_by_age_removes_old_records_and_their_blobs_but_keeps_blobs_of_kept_records()
    {
        var shared = await BlobAsync(1000, 1, TimeSpan.FromDays(30));
        var oldOnly = await BlobAsync(1000, 2, TimeSpan.FromDays(30));
        var old = await RecordAsync("old", oldOnly, 1000, TimeSpan.FromDays(10));
        var oldShared = await RecordAsync("old-shared", shared, 1000, TimeSpan.FromDays(10));
        var recent = await RecordAsync("recent", shared, 1000, TimeSpan.FromHours(1));

        var report = await new CachePruner(_cache).PruneAsync(new PruneOptions { MaxAge = TimeSpan.FromDays(7), Now = _now });

        Assert.Equal((2, 1, 1), (report.RecordsRemoved, report.RecordsKept, report.BlobsRemoved));
        Assert.Null(await _cache.Records.GetAsync(old));
        Assert.Null(await _cache.Records.GetAsync(oldShared));
        Assert.NotNull(await _cache.Records.GetAsync(recent));
        Assert.True(await _cache.Blobs.ExistsAsync(shared));
        Assert.False(await _cache.Blobs.ExistsAsync(oldOnly));
    }

    [Fact]
    public async Task Pruning_by_size_drops_least_recently_used_records_first()
    {
        var a = await BlobAsync(4000, 1, TimeSpan.FromDays(1));
        var b = await BlobAsync(4000, 2, TimeSpan.FromDays(1));
        var c = await BlobAsync(4000, 3, TimeSpan.FromDays(1));
        await RecordAsync("a", a, 4000, TimeSpan.FromHours(3));
        await RecordAsync("b", b, 4000, TimeSpan.FromHours(1));
        await RecordAsync("c", c, 4000, TimeSpan.FromHours(2));

        var report = await new CachePruner(_cache).PruneAsync(new PruneOptions { MaxTotalBytes = 8000, Now = _now });

        Assert.Equal(1, report.RecordsRemoved);
        Assert.False(await _cache.Blobs.ExistsAsync(a));
        Assert.True(await _cache.Blobs.ExistsAsync(b));
        Assert.True(await _cache.Blobs.ExistsAsync(c));
        Assert.Equal(8000, report.BytesKept);
    }

    [Fact]
    public async Task Roots_keep_a_named_manifest_its_config_and_layers_even_without_records()
    {
        var layer = await BlobAsync(3000, 1, TimeSpan.FromDays(2));
        var config = await _cache.Blobs.PutAsync(new MemoryStream("{\"architecture\":\"amd64\"}"u8.ToArray()));
        var manifest = await _cache.Blobs.PutAsync(new MemoryStream(Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":25},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{layer}}","size":3000}]}""")));
        var stray = await BlobAsync(3000, 2, TimeSpan.FromDays(2));

        var report = await new CachePruner(_cache, new PruneRoots([manifest]))
            .PruneAsync(new PruneOptions { MaxAge = TimeSpan.Zero, UnreferencedGrace = TimeSpan.Zero, Now = _now.AddSeconds(1) });

        Assert.Equal(1, report.BlobsRemoved);
        Assert.False(await _cache.Blobs.ExistsAsync(stray));
        foreach (var kept in new[] { manifest, config, layer }) Assert.True(await _cache.Blobs.ExistsAsync(kept));
    }

    [Fact]
    public async Task Recent_unreferenced_blob_survives_the_grace_period_of_an_upload_in_flight()
    {
        var fresh = await BlobAsync(1000, 1);
        var stale = await BlobAsync(1000, 2, TimeSpan.FromHours(2));
        await new CachePruner(_cache).PruneAsync(new PruneOptions { MaxAge = TimeSpan.FromDays(1), Now = _now });
        Assert.True(await _cache.Blobs.ExistsAsync(fresh));
        Assert.False(await _cache.Blobs.ExistsAsync(stale));
    }

    [Fact]
    public async Task Dry_run_reports_without_removing_and_du_counts_referenced_bytes()
    {
        var a = await BlobAsync(1000, 1, TimeSpan.FromDays(3));
        await BlobAsync(500, 2, TimeSpan.FromDays(3));
        await RecordAsync("a", a, 1000, TimeSpan.FromDays(2));

        var report = await new CachePruner(_cache).PruneAsync(new PruneOptions { MaxAge = TimeSpan.FromDays(1), DryRun = true, Now = _now });
        Assert.Equal((1, 2, 1500L), (report.RecordsRemoved, report.BlobsRemoved, report.BytesRemoved));

        var usage = await new CachePruner(_cache).MeasureAsync();
        Assert.Equal((2, 1500L, 1, 1, 1000L), (usage.Blobs, usage.BlobBytes, usage.Records, usage.ReferencedBlobs, usage.ReferencedBytes));
    }

    public void Dispose()
    {
        _cache.Dispose();
        _dir.Dispose();
    }
}
