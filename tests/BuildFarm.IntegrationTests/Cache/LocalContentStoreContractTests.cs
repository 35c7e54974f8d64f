using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.Cache;

public sealed class LocalContentStoreContractTests : ContentStoreContract
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"buildfarm-cache-test-{Guid.NewGuid():N}");
    private readonly Dictionary<SharedCache, ContentStoreOptions> _options = [];
    private int _next;

    protected override ContentStoreOptions NewCacheOptions(string? ns = null) =>
        new() { Kind = ContentStoreKind.Local, Path = ns is null ? Path.Combine(_root, $"c{_next++}") : Path.Combine(_root, "shared"), Namespace = ns };

    protected override ContentStoreOptions NewCacheOptionsLike(SharedCache cache) =>
        new() { Kind = ContentStoreKind.Local, Path = ((LocalContentStore)cache.Blobs).Root };

    protected override Task CorruptAsync(SharedCache cache, Digest digest, byte[] bytes) =>
        File.WriteAllBytesAsync(((LocalContentStore)cache.Blobs).GetBlobPath(digest), bytes);

    protected override void DisposeStore()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Writer_that_dies_mid_write_leaves_only_a_temp_file_that_pruning_removes()
    {
        var cache = NewCache();
        var local = (LocalContentStore)cache.Blobs;
        var bytes = RandomBytes(1 << 20, 3);
        await Assert.ThrowsAsync<IOException>(() => local.PutAsync(new ForwardOnlyStream(bytes, failAfter: 1000), Digest.Compute(bytes)));
        Assert.False(File.Exists(local.GetBlobPath(Digest.Compute(bytes))));
        Assert.Empty(await local.ListAsync().ToListAsync());
        Assert.Equal(0, local.RemoveStaleIngest(TimeSpan.Zero)); // the failed writer cleaned up after itself
    }
}
