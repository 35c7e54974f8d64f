using BuildFarm.Coordinator.Images;

namespace BuildFarm.Tests.Images;

public sealed class LocalImageStoreTests : IDisposable
{
    private const string Config = "sha256:c0ffee0000000000000000000000000000000000000000000000000000000001";
    private const string Manifest = "sha256:abcdef0000000000000000000000000000000000000000000000000000000002";
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-images-").FullName;
    private readonly LocalImageStore _store;

    public LocalImageStoreTests() => _store = new LocalImageStore(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task AddAsync(string name) =>
        _store.TagAsync(new LocalImage { Name = name, ManifestDigest = Manifest, ConfigDigest = Config }, CancellationToken.None);

    [Fact]
    public async Task Find_by_id_prefix_matches_the_config_digest_like_docker()
    {
        await AddAsync("app:1");
        Assert.Equal("app:1", (await _store.FindAsync("c0ffee", CancellationToken.None))?.Name);
        Assert.Equal("app:1", (await _store.FindAsync(Config, CancellationToken.None))?.Name);
        Assert.Equal("app:1", (await _store.FindAsync("abcdef", CancellationToken.None))?.Name); // the manifest digest still finds it
        Assert.Null(await _store.FindAsync("c0f", CancellationToken.None)); // fewer than 4 characters
    }

    [Fact]
    public async Task Names_of_an_id_are_all_its_tags()
    {
        await AddAsync("app:1");
        await AddAsync("registry.local/app");
        Assert.Equal(["app:1", "registry.local/app:latest"], (await _store.NamesOfAsync(Config, CancellationToken.None)).Select(i => i.Name));
    }

    [Fact]
    public async Task A_repo_digest_replaces_the_one_of_the_same_repository()
    {
        await AddAsync("app:1");
        await _store.AddRepoDigestAsync("app:1", "127.0.0.1:5000/app@sha256:" + new string('1', 64), CancellationToken.None);
        await _store.AddRepoDigestAsync("app:1", "127.0.0.1:5000/app@sha256:" + new string('2', 64), CancellationToken.None);
        await _store.AddRepoDigestAsync("app:1", "127.0.0.1:5000/other@sha256:" + new string('3', 64), CancellationToken.None);
        var image = await _store.FindAsync("app:1", CancellationToken.None);
        Assert.Equal(["127.0.0.1:5000/app@sha256:" + new string('2', 64), "127.0.0.1:5000/other@sha256:" + new string('3', 64)], image!.RepoDigests);
    }

    [Fact]
    public async Task Names_tagged_at_the_same_moment_are_all_kept()
    {
        var names = Enumerable.Range(1, 16).Select(i => $"app:{i}").ToList();

        await Task.WhenAll(names.Select(AddAsync));

        Assert.Equal(names.Order(StringComparer.Ordinal), (await _store.ListAsync(CancellationToken.None)).Select(i => i.Name));
        // A second store on the same folder (another process) sees them all too.
        Assert.Equal(16, (await new LocalImageStore(_dir).ListAsync(CancellationToken.None)).Count);
    }
}
