using BuildFarm.Cache;
using BuildFarm.Cache.Context;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Tests.Context;

public sealed class ContextPublisherTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string MakeContext()
    {
        var root = _temp.CreateSubdirectory("ctx");
        Directory.CreateDirectory(Path.Combine(root, "src"));
        File.WriteAllText(Path.Combine(root, "src/a.txt"), "same");
        File.WriteAllText(Path.Combine(root, "b.txt"), "same");
        File.WriteAllText(Path.Combine(root, "c.txt"), "other");
        File.CreateSymbolicLink(Path.Combine(root, "link"), "src/a.txt");
        return root;
    }

    private static IReadOnlyList<ContextEntry> Walk(string root) => ContextWalker.Walk(root, PatternMatcher.Create([]));

    [Fact]
    public async Task Publish_puts_each_distinct_content_once_and_the_manifest()
    {
        var root = MakeContext();
        var store = new CountingContentStore(new LocalContentStore(_temp.Combine("store")));

        var published = await new ContextPublisher(store).PublishAsync(root, Walk(root), CancellationToken.None);

        Assert.Equal((0, 2), (published.BlobsPresent, published.BlobsUploaded));
        var manifest = await ContextManifest.ReadAsync(store, published.ManifestDigest);
        Assert.Equal(["b.txt", "c.txt", "link", "src", "src/a.txt"], manifest.Entries.Select(e => e.Path));
        Assert.Equal("src/a.txt", manifest.Entries.Single(e => e.Path == "link").LinkTarget);
    }

    [Fact]
    public async Task Republish_of_an_unchanged_context_only_asks_whether_blobs_exist()
    {
        var root = MakeContext();
        var local = new LocalContentStore(_temp.Combine("store"));
        var first = await new ContextPublisher(local).PublishAsync(root, Walk(root), CancellationToken.None);
        var store = new CountingContentStore(local);

        var second = await new ContextPublisher(store).PublishAsync(root, Walk(root), CancellationToken.None);

        Assert.Equal(first.ManifestDigest, second.ManifestDigest);
        Assert.Equal((0, 0, 3), (store.Puts, store.Opens, store.Exists)); // 2 contents + the manifest
    }

    [Fact]
    public async Task Publish_of_a_file_changed_after_hashing_fails_naming_it()
    {
        var root = MakeContext();
        var entries = Walk(root);
        File.WriteAllText(Path.Combine(root, "c.txt"), "changed meanwhile");

        var error = await Assert.ThrowsAsync<IOException>(() =>
            new ContextPublisher(new LocalContentStore(_temp.Combine("store"))).PublishAsync(root, entries, CancellationToken.None));

        Assert.Contains("'c.txt' changed", error.Message);
    }

    [Fact]
    public async Task Touching_a_file_changes_the_manifest_but_uploads_nothing()
    {
        var root = MakeContext();
        var local = new LocalContentStore(_temp.Combine("store"));
        var first = await new ContextPublisher(local).PublishAsync(root, Walk(root), CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(root, "c.txt"), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        var second = await new ContextPublisher(local).PublishAsync(root, Walk(root), CancellationToken.None);

        Assert.NotEqual(first.ManifestDigest, second.ManifestDigest);
        Assert.Equal(0, second.BlobsUploaded);
    }
}
