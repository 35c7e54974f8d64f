using System.Security.Cryptography;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.TestSupport;
using ManifestEntry = BuildFarm.Protos.V1.ContextEntry;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Tests.Serve;

/// <summary>A served context is rebuilt as root from a client's manifest: hostile manifests must not write outside it.</summary>
public sealed class ContextMaterializerTests : IDisposable
{
    private const uint File644 = 0x8000 | 0b110_100_100;
    private const uint Dir755 = 0x4000 | 0b111_101_101;
    private const uint Link777 = 0xA000 | 0b111_111_111;

    private readonly TempDirectory _dir = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly LocalContentStore _store;


    public ContextMaterializerTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        _store = new LocalContentStore(_dir.Combine("store"));
    }

    public void Dispose() => _dir.Dispose();

    private async Task<string> PutAsync(string content)
    {
        var digest = await _store.PutAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)));
        return digest.ToString();
    }

    private static ManifestEntry FileEntry(string path, string digest, long size) => new() { Path = path, Mode = File644, Sha256 = digest, Size = size };

    private static ManifestEntry LinkEntry(string path, string target) => new() { Path = path, Mode = Link777, LinkTarget = target };

    private Task MaterializeAsync(string root, IReadOnlySet<string> servable, params ManifestEntry[] entries) =>
        new UploadedContextWriter(_store).MaterializeAsync(entries, root, servable, CancellationToken.None);

    [Fact]
    public async Task Symlink_then_file_entries_are_refused_and_nothing_is_written_outside_the_root()
    {
        var hostDir = _dir.CreateSubdirectory("host-dir");
        var digest = await PutAsync("planted");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string> { digest },
            LinkEntry("a", hostDir), FileEntry("a/file", digest, 7)));
        Assert.Equal("a/file", e.EntryPath);
        Assert.Contains("symlink", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(hostDir));
    }

    [Fact]
    public async Task Overwriting_an_existing_host_file_through_a_symlinked_directory_is_refused()
    {
        var hostDir = _dir.CreateSubdirectory("host-etc");
        var victim = Path.Combine(hostDir, "passwd");
        File.WriteAllText(victim, "root:x:0:0");
        var digest = await PutAsync("owned");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string> { digest },
            LinkEntry("etc", hostDir), FileEntry("etc/passwd", digest, 5)));
        Assert.Equal("etc/passwd", e.EntryPath);
        Assert.Equal("root:x:0:0", File.ReadAllText(victim));
    }

    [Fact]
    public async Task Overwriting_an_existing_host_file_through_a_symlink_listed_twice_is_refused()
    {
        var victim = _dir.Combine("victim");
        File.WriteAllText(victim, "host data");
        var digest = await PutAsync("owned");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string> { digest },
            LinkEntry("x", victim), FileEntry("x", digest, 5)));
        Assert.Contains("twice", e.Message);
        Assert.Equal("host data", File.ReadAllText(victim));
    }

    [Fact]
    public async Task A_blob_neither_uploaded_nor_proven_is_not_materialized()
    {
        var digest = await PutAsync("another build's secret");
        var root = _dir.Combine("ctx");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(root, new HashSet<string>(), FileEntry("stolen", digest, 22)));
        Assert.True(e.Denied);
        Assert.Equal("stolen", e.EntryPath);
        Assert.False(File.Exists(Path.Combine(root, "stolen")));
    }

    [Fact]
    public async Task Dot_dot_entries_are_refused()
    {
        var digest = await PutAsync("x");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string> { digest },
            FileEntry("a/../../escaped", digest, 1)));
        Assert.Equal("a/../../escaped", e.EntryPath);
        Assert.False(File.Exists(_dir.Combine("escaped")));
    }

    [Fact]
    public async Task Files_directories_and_symlinks_pointing_anywhere_are_materialized_with_their_modes()
    {
        var digest = await PutAsync("hello");
        var root = _dir.Combine("ctx");
        await MaterializeAsync(root, new HashSet<string> { digest },
            new ManifestEntry { Path = "bin", Mode = 0x4000 | 0b111_000_000 },
            new ManifestEntry { Path = "bin/tool", Mode = 0x8000 | 0b111_101_101, Sha256 = digest, Size = 5 },
            LinkEntry("etc", "/etc"));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(root, "bin/tool")));
        Assert.Equal(0b111_000_000u, BuildFarm.Oci.Native.Posix.LStat(Path.Combine(root, "bin")).Permissions);
        Assert.Equal("/etc", new FileInfo(Path.Combine(root, "etc")).LinkTarget);
    }

    [Fact]
    public async Task An_ignore_file_that_is_a_symlink_is_refused()
    {
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string>(),
            LinkEntry(".dockerignore", "/etc/shadow")));
        Assert.Equal(".dockerignore", e.EntryPath);
    }

    [Fact]
    public async Task A_size_that_does_not_match_the_content_is_refused()
    {
        var digest = await PutAsync("hello");
        var e = await Assert.ThrowsAsync<ContextEntryException>(() => MaterializeAsync(_dir.Combine("ctx"), new HashSet<string> { digest },
            FileEntry("f", digest, 4000)));
        Assert.Contains("4000", e.Message);
    }

    /// <summary>Several thousand random manifests (fixed seed) against a sentinel folder outside every root: it must not
    /// change, and the only failure allowed is a <see cref="ContextEntryException"/>.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Fuzzed_manifests_never_write_outside_the_root_and_fail_only_with_a_context_entry_error(bool openat2)
    {
        const int cases = 4000;
        var random = new Random(20261204);
        var outside = _dir.CreateSubdirectory("outside");
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        File.WriteAllText(Path.Combine(outside, "victim"), "host data");
        File.WriteAllText(Path.Combine(outside, "sub", "victim2"), "host data 2");
        var before = Snapshot(outside);

        string[] contents = ["", "a", "hello world", new string('z', 70_000)];
        var digests = new List<(string Digest, long Size)>();
        foreach (var c in contents) digests.Add((await PutAsync(c), System.Text.Encoding.UTF8.GetByteCount(c)));
        var unstored = "sha256:" + Convert.ToHexStringLower(SHA256.HashData("never stored"u8));
        // The last stored blob was not uploaded nor proven by this build: naming it must be refused.
        var servable = new HashSet<string>(digests.SkipLast(1).Select(d => d.Digest)) { unstored };

        // Mostly ordinary names, types and digests, with hostile ones mixed in: a manifest that is all poison only
        // tests the first check.
        string[] segments = ["a", "b", "c", "etc", "sub", "victim", "a b", "\u00e9", "...", ".wh.a"];
        string[] hostileSegments = ["..", ".", "", "x\0y"];
        string[] targets = [outside, Path.Combine(outside, "victim"), Path.Combine(outside, "sub"), "../../outside", "../../../" + outside.TrimStart('/'),
            "/", "/etc", "a", "..", ".", "b/../..", "sub", "", "x\0"];
        uint[] types = [0x8000, 0x4000, 0xA000];
        uint[] oddTypes = [0x1000, 0x2000, 0x6000, 0xC000, 0x0000, 0xF000];
        string Segment() => random.Next(15) == 0 ? hostileSegments[random.Next(hostileSegments.Length)] : segments[random.Next(segments.Length)];
        var refused = 0;
        var roots = _dir.CreateSubdirectory("roots");
        for (var i = 0; i < cases; i++)
        {
            var entries = new List<ManifestEntry>();
            var count = random.Next(1, 7);
            for (var j = 0; j < count; j++)
            {
                // Reuse earlier paths often: duplicates and children of earlier entries are the interesting cases.
                var path = entries.Count > 0 && random.Next(3) == 0
                    ? entries[random.Next(entries.Count)].Path + (random.Next(3) == 0 ? "" : "/" + Segment())
                    : string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Segment()));
                if (random.Next(20) == 0) path = "/" + path;
                var type = random.Next(25) == 0 ? oddTypes[random.Next(oddTypes.Length)] : types[random.Next(types.Length)];
                var mode = type | (uint)random.Next(0, 0x1000);
                if (random.Next(100) == 0) mode = (uint)random.Next();
                var (digest, size) = digests[random.Next(digests.Count)];
                var entry = new ManifestEntry { Path = path, Mode = mode, Size = random.Next(50) == 0 ? random.Next(-2, 100) : size };
                entry.Sha256 = random.Next(60) switch { 0 => unstored, 1 => "sha256:zz", 2 => "", _ => digest };
                entry.LinkTarget = targets[random.Next(targets.Length)];
                entries.Add(entry);
            }
            var root = Path.Combine(roots, i.ToString());
            try
            {
                await new UploadedContextWriter(_store, openat2).MaterializeAsync(entries, root, servable, CancellationToken.None);
            }
            catch (ContextEntryException)
            {
                refused++;
            }
            Directory.Delete(root, recursive: true);
        }
        Assert.Equal(before, Snapshot(outside));
        Assert.Empty(Directory.EnumerateFileSystemEntries(roots));
        _output.WriteLine($"{cases} manifests: {refused} refused, {cases - refused} materialized");
        Assert.Equal(["outside", "roots", "store"], Directory.EnumerateFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // The generator must exercise both outcomes, or it tests nothing.
        Assert.InRange(refused, cases / 10, cases - cases / 10);
    }

    private static List<string> Snapshot(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p =>
            {
                var st = BuildFarm.Oci.Native.Posix.LStat(p);
                var content = st.Type == BuildFarm.Oci.Native.FileStatus.Regular ? File.ReadAllText(p) : "";
                return $"{p} {st.Mode} {st.Uid} {st.Gid} {st.ModificationSeconds}.{st.ModificationNanoseconds} {content}";
            }).ToList();
}
