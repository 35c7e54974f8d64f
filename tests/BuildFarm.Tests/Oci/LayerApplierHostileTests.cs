using System.Formats.Tar;
using System.Text;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Oci;

/// <summary>Hostile layers and user archives: symlinks that point anywhere are fine as entries, but nothing is ever
/// written through one to outside the root.</summary>
public sealed class LayerApplierHostileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static MemoryStream Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        ms.Position = 0;
        return ms;
    }

    private static PaxTarEntry File(string name, string content = "planted") =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    private static PaxTarEntry Link(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Fact]
    public async Task A_file_beneath_an_absolute_symlink_to_a_host_directory_lands_inside_the_root()
    {
        var host = _dir.CreateSubdirectory("host");
        var root = _dir.Combine("root");
        await new LayerApplier().ApplyAsync(Tar(Link("etc", host), File("etc/passwd")), root);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host));
        Assert.Equal("planted", System.IO.File.ReadAllText(root + host + "/passwd"));
        Assert.Equal(host, new FileInfo(Path.Combine(root, "etc")).LinkTarget);
    }

    [Fact]
    public async Task A_hard_link_to_a_host_file_through_a_symlink_is_not_made()
    {
        var victim = _dir.Combine("victim");
        System.IO.File.WriteAllText(victim, "host data");
        var root = _dir.Combine("root");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new LayerApplier().ApplyAsync(
            Tar(Link("up", _dir.Path), new PaxTarEntry(TarEntryType.HardLink, "stolen") { LinkName = "up/victim" }), root));
        Assert.Contains("stolen", e.Message);
        Assert.Equal(1UL, Posix.LStat(victim).LinkCount);
    }

    [Fact]
    public async Task A_whiteout_beneath_a_symlink_to_the_host_deletes_nothing_there()
    {
        var host = _dir.CreateSubdirectory("host");
        System.IO.File.WriteAllText(Path.Combine(host, "keep"), "k");
        var root = _dir.Combine("root");
        var applier = new LayerApplier();
        await applier.ApplyAsync(Tar(Link("h", host)), root);
        await applier.ApplyAsync(Tar(File("h/.wh.keep", ""), File("h/.wh..wh..opq", "")), root);
        Assert.Equal("k", System.IO.File.ReadAllText(Path.Combine(host, "keep")));
    }

    /// <summary>Random layers (fixed seed) over a root with a sentinel folder beside it: the sentinel never changes, and
    /// the only failures are the applier's clear ones.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fuzzed_layers_never_write_outside_the_root(bool userArchive)
    {
        const int cases = 1500;
        var random = new Random(userArchive ? 17 : 10);
        var outside = _dir.CreateSubdirectory("outside");
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        System.IO.File.WriteAllText(Path.Combine(outside, "victim"), "host data");
        var before = Snapshot(outside);
        var options = userArchive
            ? new LayerApplyOptions { HonorWhiteouts = false, AbsoluteNamesRelativeToRoot = true }
            : new LayerApplyOptions { AbsoluteNamesRelativeToRoot = random.Next(2) == 0 };
        string[] segments = ["a", "b", "etc", "sub", "victim", ".wh.a", ".wh..wh..opq", "..", "."];
        string[] targets = [outside, Path.Combine(outside, "victim"), Path.Combine(outside, "sub"), "..", "../..", "../../outside",
            "/", "a", "b/..", "/etc", "sub/../.."];
        string Name() => (random.Next(12) == 0 ? "/" : "") + string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => segments[random.Next(segments.Length)]));
        var failures = 0;
        for (var i = 0; i < cases; i++)
        {
            var root = _dir.Combine("root" + i);
            try
            {
                for (var layer = random.Next(1, 3); layer > 0; layer--)
                {
                    var entries = new List<TarEntry>();
                    for (var j = random.Next(1, 7); j > 0; j--)
                    {
                        entries.Add(random.Next(7) switch
                        {
                            0 or 1 => File(Name()),
                            2 => new PaxTarEntry(TarEntryType.Directory, Name()),
                            3 or 4 => Link(Name(), targets[random.Next(targets.Length)]),
                            5 => new PaxTarEntry(TarEntryType.HardLink, Name()) { LinkName = random.Next(2) == 0 ? Name() : targets[random.Next(targets.Length)] },
                            _ => new PaxTarEntry(TarEntryType.Fifo, Name()),
                        });
                    }
                    await new LayerApplier(options).ApplyAsync(Tar([.. entries]), root);
                }
            }
            catch (Exception e) when (e is UnsafePathException or InvalidDataException || e.GetType() == typeof(IOException))
            {
                failures++;
            }
            Directory.Delete(root, recursive: true);
        }
        Assert.Equal(before, Snapshot(outside));
        Assert.Equal(["outside"], Directory.EnumerateFileSystemEntries(_dir.Path).Select(Path.GetFileName));
        Assert.InRange(failures, cases / 20, cases - cases / 20);
    }

    private static List<string> Snapshot(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p =>
            {
                var st = Posix.LStat(p);
                var content = st.Type == FileStatus.Regular ? System.IO.File.ReadAllText(p) : "";
                return $"{p} {st.Mode} {st.LinkCount} {st.ModificationSeconds}.{st.ModificationNanoseconds} {content}";
            }).ToList();
}
