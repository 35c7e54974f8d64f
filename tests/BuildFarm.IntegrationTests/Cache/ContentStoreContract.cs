using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.Cache;

/// <summary>The behaviour every cache store must have, run against the local folder and the S3 server alike.</summary>
public abstract class ContentStoreContract : IDisposable
{
    private readonly List<SharedCache> _opened = [];

    /// <summary>A fresh, empty cache (own folder or own namespace) for one test.</summary>
    protected abstract ContentStoreOptions NewCacheOptions(string? ns = null);

    /// <summary>Replaces the stored bytes of a blob behind the store's back (same length).</summary>
    protected abstract Task CorruptAsync(SharedCache cache, Digest digest, byte[] bytes);

    protected SharedCache Open(ContentStoreOptions options)
    {
        var cache = ContentStoreFactory.Open(options);
        _opened.Add(cache);
        return cache;
    }

    protected SharedCache NewCache() => Open(NewCacheOptions());

    protected static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected static async Task<byte[]> ReadAllAsync(IContentStore store, Digest digest)
    {
        await using var stream = await store.OpenAsync(digest);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(20 << 20)] // above the test threshold of 8 MiB: a multipart upload (16 MiB parts) on S3
    public async Task Put_then_open_returns_the_same_bytes_under_their_digest(int size)
    {
        var store = NewCache().Blobs;
        var bytes = RandomBytes(size, size);
        var digest = await store.PutAsync(new MemoryStream(bytes));
        Assert.Equal(Digest.Compute(bytes), digest);
        Assert.True(await store.ExistsAsync(digest));
        Assert.Equal(size, await store.GetSizeAsync(digest));
        Assert.Equal(bytes, await ReadAllAsync(store, digest));
    }

    [Fact]
    public async Task Put_of_an_unseekable_stream_with_expected_digest_stores_it()
    {
        var store = NewCache().Blobs;
        var bytes = RandomBytes(6 << 20, 6);
        var digest = await store.PutAsync(new ForwardOnlyStream(bytes), Digest.Compute(bytes));
        Assert.Equal(bytes, await ReadAllAsync(store, digest));
    }

    [Fact]
    public async Task Put_whose_content_does_not_match_the_expected_digest_stores_nothing()
    {
        var store = NewCache().Blobs;
        var bytes = RandomBytes(6 << 20, 1);
        var claimed = Digest.Compute(RandomBytes(6 << 20, 2));
        await Assert.ThrowsAsync<DigestMismatchException>(() => store.PutAsync(new MemoryStream(bytes), claimed));
        await Assert.ThrowsAsync<DigestMismatchException>(() => store.PutAsync(new ForwardOnlyStream(bytes), claimed));
        Assert.False(await store.ExistsAsync(claimed));
        Assert.False(await store.ExistsAsync(Digest.Compute(bytes)));
        Assert.Empty(await store.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Missing_blob_is_absent_and_open_throws_not_found()
    {
        var store = NewCache().Blobs;
        var digest = Digest.Compute("nothing here"u8);
        Assert.False(await store.ExistsAsync(digest));
        Assert.Null(await store.GetSizeAsync(digest));
        var e = await Assert.ThrowsAsync<BlobNotFoundException>(() => store.OpenAsync(digest));
        Assert.Equal(digest, e.Digest);
    }

    [Fact]
    public async Task List_shows_stored_blobs_and_delete_removes_one()
    {
        var store = NewCache().Blobs;
        var a = await store.PutAsync(new MemoryStream(RandomBytes(10, 1)));
        var b = await store.PutAsync(new MemoryStream(RandomBytes(20, 2)));
        var listed = await store.ListAsync().ToListAsync();
        Assert.Equal(new[] { a, b }.OrderBy(d => d.Hex), listed.Select(x => x.Digest).OrderBy(d => d.Hex));
        Assert.Equal(20, listed.Single(x => x.Digest == b).Size);
        await store.DeleteAsync(a);
        await store.DeleteAsync(a); // deleting twice is harmless
        Assert.False(await store.ExistsAsync(a));
        Assert.Equal([b], (await store.ListAsync().ToListAsync()).Select(x => x.Digest));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_blob_leave_one_intact_blob()
    {
        var store = NewCache().Blobs;
        var bytes = RandomBytes(6 << 20, 32);
        var expected = Digest.Compute(bytes);
        // Half the writers know the digest (put-if-absent), half do not; half stream, half seek.
        var writers = Enumerable.Range(0, 32).Select(i => Task.Run(() => store.PutAsync(
            i % 2 == 0 ? new MemoryStream(bytes) : new ForwardOnlyStream(bytes),
            i % 4 < 2 ? expected : null)));
        var digests = await Task.WhenAll(writers);
        Assert.All(digests, d => Assert.Equal(expected, d));
        var listed = await store.ListAsync().ToListAsync();
        Assert.Equal(expected, Assert.Single(listed).Digest);
        Assert.Equal(bytes.Length, listed[0].Size);
        Assert.Equal(bytes, await ReadAllAsync(store, expected));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writer_that_dies_mid_upload_leaves_nothing_visible(bool cancelled)
    {
        var store = NewCache().Blobs;
        var bytes = RandomBytes(40 << 20, 40);
        using var cts = new CancellationTokenSource();
        var dying = new ForwardOnlyStream(bytes, failAfter: 25 << 20, cancelInstead: cancelled ? cts : null);
        var e = await Record.ExceptionAsync(() => store.PutAsync(dying, Digest.Compute(bytes), cts.Token));
        Assert.True(e is IOException or OperationCanceledException, $"unexpected {e}");
        Assert.False(await store.ExistsAsync(Digest.Compute(bytes)));
        Assert.Empty(await store.ListAsync().ToListAsync());
    }

    [Theory]
    [InlineData(4 << 20)] // one PUT on S3
    [InlineData(20 << 20)] // multipart on S3
    public async Task Writer_whose_source_differs_only_in_its_last_byte_leaves_nothing_visible(int size)
    {
        // The source lies about its content only at the end: the upload must not complete with the wrong bytes.
        var store = NewCache().Blobs;
        var bytes = RandomBytes(size, 7);
        var expected = Digest.Compute(bytes);
        bytes[^1] ^= 0xff;
        await Assert.ThrowsAsync<DigestMismatchException>(() => store.PutAsync(new MemoryStream(bytes), expected));
        Assert.False(await store.ExistsAsync(expected));
    }

    [Fact]
    public async Task Corrupted_blob_is_detected_on_read_removed_and_then_a_miss()
    {
        var cache = NewCache();
        var bytes = RandomBytes(100_000, 9);
        var digest = await cache.Blobs.PutAsync(new MemoryStream(bytes));
        var bad = (byte[])bytes.Clone();
        bad[50_000] ^= 0x01;
        await CorruptAsync(cache, digest, bad);

        var e = await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(cache.Blobs, digest));
        Assert.Equal(digest, e.Digest);
        Assert.Equal(Digest.Compute(bad), e.Actual);
        Assert.False(await cache.Blobs.ExistsAsync(digest));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => cache.Blobs.OpenAsync(digest));
        // and the cache heals when the blob is written again
        await cache.Blobs.PutAsync(new MemoryStream(bytes), digest);
        Assert.Equal(bytes, await ReadAllAsync(cache.Blobs, digest));
    }

    [Fact]
    public async Task Namespaces_do_not_share_blobs_or_records()
    {
        var teamA = Open(NewCacheOptions("team-a"));
        var teamB = Open(NewCacheOptions("team-b"));
        var digest = await teamA.Blobs.PutAsync(new MemoryStream("secret layer"u8.ToArray()));
        await teamA.Records.PutAsync(new StepRecord { Key = digest.ToString(), Created = DateTimeOffset.UtcNow });
        Assert.True(await teamA.Blobs.ExistsAsync(digest));
        Assert.False(await teamB.Blobs.ExistsAsync(digest));
        Assert.Null(await teamB.Records.GetAsync(digest.ToString()));
        Assert.Empty(await teamB.Blobs.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Step_record_round_trips_with_layer_config_changes_and_inputs()
    {
        var records = NewCache().Records;
        var key = Digest.Compute("key"u8).ToString();
        var record = NewRecord(key, parent: Digest.Compute("parent"u8).ToString(), step: "Dockerfile#0#2", arg: "1");
        Assert.Null(await records.GetAsync(key));
        await records.PutAsync(record);

        var read = await records.GetAsync(key);
        Assert.NotNull(read);
        Assert.Equal(record.Layer, read.Layer);
        Assert.Equal(record.DiffId, read.DiffId);
        Assert.Equal(record.Created, read.Created);
        Assert.Equal(record.ConfigChanges!.ToJsonString(), read.ConfigChanges!.ToJsonString());
        Assert.Equal(record.Inputs!.ToJsonString(), read.Inputs!.ToJsonString());
        var entry = Assert.Single(await records.ListAsync().ToListAsync());
        Assert.Equal(key, entry.Record.Key);
        Assert.True(entry.LastUsed > DateTimeOffset.UtcNow.AddMinutes(-5));

        await records.DeleteAsync(key);
        Assert.Null(await records.GetAsync(key));
        Assert.Empty(await records.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Touch_moves_the_last_used_time_forward()
    {
        var cache = NewCache();
        var key = Digest.Compute("touched"u8).ToString();
        await cache.Records.PutAsync(NewRecord(key, null, null, "x"));
        var before = (await cache.Records.ListAsync().ToListAsync()).Single().LastUsed;
        await Task.Delay(1100); // S3 and file times have one-second resolution at worst
        // A fresh index instance: the writer's own instance skips touches within its interval, by design.
        var other = Open(NewCacheOptionsLike(cache));
        await other.Records.TouchAsync(key);
        var after = (await other.Records.ListAsync().ToListAsync()).Single().LastUsed;
        Assert.True(after > before, $"{after:O} should be after {before:O}");
    }

    [Fact]
    public async Task Earlier_records_of_the_same_step_or_parent_are_miss_explanation_candidates()
    {
        var records = NewCache().Records;
        var parent = Digest.Compute("parent"u8).ToString();
        var old = NewRecord(Digest.Compute("k1"u8).ToString(), parent, "Dockerfile#0#3", "1") with { Created = DateTimeOffset.UtcNow.AddHours(-2) };
        var newer = NewRecord(Digest.Compute("k2"u8).ToString(), Digest.Compute("other parent"u8).ToString(), "Dockerfile#0#3", "2") with { Created = DateTimeOffset.UtcNow.AddHours(-1) };
        var unrelated = NewRecord(Digest.Compute("k3"u8).ToString(), Digest.Compute("x"u8).ToString(), "Dockerfile#1#0", "3");
        foreach (var r in new[] { old, newer, unrelated }) await records.PutAsync(r);

        var byStep = await records.FindCandidatesAsync(null, "Dockerfile#0#3");
        Assert.Equal([newer.Key, old.Key], byStep.Select(r => r.Key));
        var byParent = await records.FindCandidatesAsync(parent, null);
        Assert.Equal([old.Key], byParent.Select(r => r.Key));
        Assert.Equal("1", byParent[0].Inputs!["args"]!["V"]!.GetValue<string>());
    }

    /// <summary>Options for another handle on the same cache as <paramref name="cache"/>.</summary>
    protected abstract ContentStoreOptions NewCacheOptionsLike(SharedCache cache);

    protected static StepRecord NewRecord(string key, string? parent, string? step, string arg) => new()
    {
        Key = key,
        Layer = new Descriptor { MediaType = "application/vnd.oci.image.layer.v1.tar+gzip", Digest = Digest.Compute("layer"u8).ToString(), Size = 5 },
        DiffId = Digest.Compute("diff"u8).ToString(),
        ConfigChanges = new JsonObject { ["Env"] = new JsonArray("A=1") },
        Created = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero),
        Inputs = new JsonObject { ["parent"] = parent, ["instruction"] = "RUN make", ["args"] = new JsonObject { ["V"] = arg } },
        ParentKey = parent,
        StepIdentity = step,
    };

    public void Dispose()
    {
        foreach (var cache in _opened) cache.Dispose();
        DisposeStore();
        GC.SuppressFinalize(this);
    }

    protected virtual void DisposeStore() { }
}
