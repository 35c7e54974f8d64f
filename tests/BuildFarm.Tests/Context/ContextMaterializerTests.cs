using System.Text;
using BuildFarm.Cache;
using BuildFarm.Cache.Context;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;
using BuildFarm.Worker.Context;

namespace BuildFarm.Tests.Context;

public sealed class ContextMaterializerTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly LocalContentStore _store;
    private readonly string _outside;

    public ContextMaterializerTests()
    {
        _store = new LocalContentStore(_temp.Combine("store"));
        _outside = _temp.CreateSubdirectory("outside");
    }

    public void Dispose() => _temp.Dispose();

    private ContextMaterializer Materializer(IContentStore? store = null, long capacity = 1 << 30) =>
        new(store ?? _store, new ContextMaterializerOptions(_temp.Combine("contexts"), capacity));

    private async Task<string> BlobAsync(string content) =>
        (await _store.PutAsync(new MemoryStream(Encoding.UTF8.GetBytes(content)))).ToString();

    private static string FileJson(string path, string digest, long size, int mode = 0x81A4, long mtime = 1600000000) =>
        $$"""{"path":"{{path}}","mode":{{mode}},"size":{{size}},"digest":"{{digest}}","uid":0,"gid":0,"mtime":{{mtime}}}""";

    private static string DirJson(string path, int mode = 0x41ED) =>
        $$"""{"path":"{{path}}","mode":{{mode}},"size":0,"uid":0,"gid":0,"mtime":1500000000}""";

    private static string LinkJson(string path, string target) =>
        $$"""{"path":"{{path}}","mode":41471,"size":{{target.Length}},"target":"{{target}}","uid":0,"gid":0,"mtime":1400000000}""";

    /// <summary>Stores a manifest exactly as written (hostile ones included) and returns its digest.</summary>
    private async Task<Digest> ManifestAsync(params string[] entries)
    {
        var json = $$"""{"mediaType":"{{ContextManifest.MediaType}}","root":{"mode":16877,"uid":0,"gid":0,"mtime":1300000000},"entries":[{{string.Join(',', entries)}}]}""";
        return await _store.PutAsync(new MemoryStream(Encoding.UTF8.GetBytes(json)));
    }

    private async Task<Digest> SampleAsync()
    {
        var a = await BlobAsync("A");
        var c = await BlobAsync("CC");
        return await ManifestAsync(FileJson("c.txt", c, 2, 0x81ED), LinkJson("link", "src/a.txt"), DirJson("src", 0x41C0), FileJson("src/a.txt", a, 1));
    }

    private void AssertNothingOutside()
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
        var contexts = _temp.Combine("contexts");
        if (!Directory.Exists(contexts)) return;
        // Refused manifests leave no tree and no temp folder behind.
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(contexts), p => Path.GetFileName(p) != "tmp");
        if (Directory.Exists(Path.Combine(contexts, "tmp"))) Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(contexts, "tmp")));
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "dotdot", "'../outside/pwned'" },
        { "absolute", "'/tmp/pwned'" },
        { "beneath a symlink", "'l/pwned' is beneath the symlink 'l'" },
        { "duplicate", "'x' is listed twice" },
        { "empty component", "'d//x'" },
        { "beneath a file", "'f/x' is beneath 'f'" },
        { "out of order", "'a' comes after 'b'" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_manifest_is_refused_naming_the_entry_and_writes_nothing(string kind, string expected)
    {
        var blob = await BlobAsync("x");
        var file = (string p) => FileJson(p, blob, 1);
        var manifest = kind switch
        {
            "dotdot" => await ManifestAsync(file("../outside/pwned")),
            "absolute" => await ManifestAsync(file("/tmp/pwned")),
            "beneath a symlink" => await ManifestAsync(LinkJson("l", _outside), file("l/pwned")),
            "duplicate" => await ManifestAsync(file("x"), file("x")),
            "empty component" => await ManifestAsync(DirJson("d"), file("d//x")),
            "beneath a file" => await ManifestAsync(file("f"), file("f/x")),
            "out of order" => await ManifestAsync(file("b"), file("a")),
            _ => throw new ArgumentException(kind),
        };

        var error = await Assert.ThrowsAsync<InvalidContextManifestException>(() => Materializer().MaterializeAsync(manifest, null, CancellationToken.None));

        Assert.Contains(expected, error.Message);
        Assert.Contains(manifest.ToString(), error.Message);
        AssertNothingOutside();
    }

    [Fact]
    public async Task Manifest_whose_size_disagrees_with_the_content_is_refused_and_leaves_no_tree()
    {
        var manifest = await ManifestAsync(FileJson("x", await BlobAsync("x"), 5));

        var error = await Assert.ThrowsAsync<InvalidContextManifestException>(() => Materializer().MaterializeAsync(manifest, null, CancellationToken.None));

        Assert.Contains("'x' says 5 bytes", error.Message);
        AssertNothingOutside();
    }

    [Fact]
    public async Task Missing_content_fails_naming_the_entry()
    {
        var absent = Digest.Compute("never stored"u8).ToString();
        var manifest = await ManifestAsync(FileJson("gone.txt", absent, 12));

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => Materializer().MaterializeAsync(manifest, null, CancellationToken.None));

        Assert.Contains("'gone.txt'", error.Message);
        AssertNothingOutside();
    }

    [Fact]
    public async Task Symlink_pointing_outside_is_made_as_a_link_and_nothing_is_written_through_it()
    {
        var manifest = await ManifestAsync(LinkJson("escape", _outside), LinkJson("escape-file", Path.Combine(_outside, "f")));

        await using var lease = await Materializer().MaterializeAsync(manifest, null, CancellationToken.None);

        Assert.Equal(_outside, new FileInfo(Path.Combine(lease.Directory, "escape")).LinkTarget);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    [Fact]
    public async Task Materialized_tree_has_the_manifest_content_modes_times_and_links()
    {
        var manifest = await SampleAsync();

        await using var lease = await Materializer().MaterializeAsync(manifest, null, CancellationToken.None);

        var dir = lease.Directory;
        Assert.Equal("A", File.ReadAllText(Path.Combine(dir, "src/a.txt")));
        Assert.Equal("CC", File.ReadAllText(Path.Combine(dir, "c.txt")));
        Assert.Equal("src/a.txt", new FileInfo(Path.Combine(dir, "link")).LinkTarget);
        Assert.Equal(Convert.ToInt32("755", 8), (int)Posix.LStat(Path.Combine(dir, "c.txt")).Permissions);
        Assert.Equal(Convert.ToInt32("700", 8), (int)Posix.LStat(Path.Combine(dir, "src")).Permissions);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1600000000).UtcDateTime, File.GetLastWriteTimeUtc(Path.Combine(dir, "src/a.txt")));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1500000000).UtcDateTime, Directory.GetLastWriteTimeUtc(Path.Combine(dir, "src")));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1300000000).UtcDateTime, Directory.GetLastWriteTimeUtc(dir));
    }

    [Fact]
    public async Task Selection_materializes_only_the_selected_entries_and_their_parents()
    {
        var manifest = await SampleAsync();

        await using var lease = await Materializer().MaterializeAsync(manifest, ["./src/*.txt"], CancellationToken.None);

        Assert.True(File.Exists(Path.Combine(lease.Directory, "src/a.txt")));
        Assert.False(File.Exists(Path.Combine(lease.Directory, "c.txt")));
        Assert.Null(new FileInfo(Path.Combine(lease.Directory, "link")).LinkTarget);
    }

    [Fact]
    public async Task Selection_of_a_symlink_materializes_the_whole_context()
    {
        var manifest = await SampleAsync();

        await using var lease = await Materializer().MaterializeAsync(manifest, ["link"], CancellationToken.None);

        Assert.Equal("A", File.ReadAllText(Path.Combine(lease.Directory, "link")));
        Assert.True(File.Exists(Path.Combine(lease.Directory, "c.txt")));
    }

    [Fact]
    public async Task Concurrent_callers_for_one_manifest_share_one_materialization()
    {
        var manifest = await SampleAsync();
        var counting = new CountingContentStore(_store);
        var materializer = Materializer(counting);

        var leases = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => materializer.MaterializeAsync(manifest, null, CancellationToken.None)));

        Assert.Single(leases.Select(l => l.Directory).Distinct());
        Assert.Equal(8 + 2, counting.Opens); // each caller reads the manifest; the two contents are fetched once
        foreach (var lease in leases) await lease.DisposeAsync();
    }

    [Fact]
    public async Task Whole_context_serves_later_selections_without_fetching_again()
    {
        var manifest = await SampleAsync();
        var counting = new CountingContentStore(_store);
        var materializer = Materializer(counting);
        await using var whole = await materializer.MaterializeAsync(manifest, null, CancellationToken.None);

        await using var part = await materializer.MaterializeAsync(manifest, ["c.txt"], CancellationToken.None);

        Assert.Equal(whole.Directory, part.Directory);
        Assert.Equal(2 + 2, counting.Opens);
    }

    [Fact]
    public async Task Least_recently_used_context_not_in_use_is_evicted_beyond_the_capacity()
    {
        var first = await ManifestAsync(FileJson("one", await BlobAsync("12345678"), 8));
        var second = await ManifestAsync(FileJson("two", await BlobAsync("abcdefgh"), 8));
        var third = await ManifestAsync(FileJson("three", await BlobAsync("ABCDEFGH"), 8));
        var materializer = Materializer(capacity: 10);

        var held = await materializer.MaterializeAsync(first, null, CancellationToken.None);
        var released = await materializer.MaterializeAsync(second, null, CancellationToken.None);
        Assert.True(Directory.Exists(held.Directory)); // in use: kept although over capacity
        await released.DisposeAsync();
        await using var latest = await materializer.MaterializeAsync(third, null, CancellationToken.None);

        Assert.True(Directory.Exists(held.Directory));
        Assert.False(Directory.Exists(released.Directory));
        await held.DisposeAsync();
    }
}
