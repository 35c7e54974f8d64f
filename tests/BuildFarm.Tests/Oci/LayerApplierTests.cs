using System.Formats.Tar;
using System.Text;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Tests.Oci;

public class LayerApplierTests
{
    private static async Task<MemoryStream> CraftAsync(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        await using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) await w.WriteEntryAsync(e);
        ms.Position = 0;
        return ms;
    }

    private static PaxTarEntry FileEntry(string name, string content = "x") =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    [Fact]
    public async Task Entry_climbing_out_with_dot_dot_is_refused()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(FileEntry("a/../../escaped"));
        var e = await Assert.ThrowsAsync<UnsafeLayerPathException>(() => new LayerApplier().ApplyAsync(tar, dir.Combine("root")));
        Assert.Contains("'a/../../escaped'", e.Message);
        Assert.False(File.Exists(dir.Combine("escaped")));
    }

    [Fact]
    public async Task Entry_with_an_absolute_path_is_refused()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(FileEntry(dir.Combine("absolute")));
        var e = await Assert.ThrowsAsync<UnsafeLayerPathException>(() => new LayerApplier().ApplyAsync(tar, dir.Combine("root")));
        Assert.Contains("absolute path", e.Message);
        Assert.False(File.Exists(dir.Combine("absolute")));
    }

    [Fact]
    public async Task Writing_through_a_symlink_that_points_outside_the_root_is_refused()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("outside"));
        var tar = await CraftAsync(
            new PaxTarEntry(TarEntryType.SymbolicLink, "evil") { LinkName = "../outside" },
            FileEntry("evil/planted"));
        var e = await Assert.ThrowsAsync<UnsafeLayerPathException>(() => new LayerApplier().ApplyAsync(tar, dir.Combine("root")));
        Assert.Contains("symlink that points outside the root", e.Message);
        Assert.False(File.Exists(dir.Combine("outside/planted")));
    }

    [Fact]
    public async Task Symlink_from_a_lower_layer_pointing_outside_is_not_followed_by_a_later_layer()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("outside"));
        var root = dir.Combine("root");
        var applier = new LayerApplier();
        await applier.ApplyAsync(await CraftAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "etc") { LinkName = "../../../../../../../../" + dir.Combine("outside").TrimStart('/') }), root);
        await Assert.ThrowsAsync<UnsafeLayerPathException>(() => applier.ApplyAsync(FileEntryTar("etc/passwd"), root));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Combine("outside")));
    }

    private static MemoryStream FileEntryTar(string name) => CraftAsync(FileEntry(name)).GetAwaiter().GetResult();

    [Fact]
    public async Task Absolute_symlink_parents_resolve_inside_the_root()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("root");
        var tar = await CraftAsync(
            new PaxTarEntry(TarEntryType.Directory, "usr/lib"),
            new PaxTarEntry(TarEntryType.SymbolicLink, "lib") { LinkName = "/usr/lib" },
            FileEntry("lib/libc.so", "libc"));
        await new LayerApplier().ApplyAsync(tar, root);
        Assert.Equal("libc", File.ReadAllText(Path.Combine(root, "usr/lib/libc.so")));
    }

    [Fact]
    public async Task A_file_replaces_a_symlink_instead_of_writing_through_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("victim"), "untouched");
        var root = dir.Combine("root");
        var applier = new LayerApplier();
        await applier.ApplyAsync(await CraftAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "f") { LinkName = dir.Combine("victim") }), root);
        await applier.ApplyAsync(await CraftAsync(FileEntry("f", "new")), root);
        Assert.Equal("untouched", File.ReadAllText(dir.Combine("victim")));
        Assert.Equal("new", File.ReadAllText(Path.Combine(root, "f")));
    }

    [Fact]
    public async Task Apply_returns_the_diff_id_of_the_uncompressed_tar()
    {
        using var dir = new TempDirectory();
        using var blob = new MemoryStream();
        var layer = await LayerCompressor.CompressEntriesAsync([LayerEntry.File("f", "data"u8.ToArray())], blob, LayerCompression.Zstd);
        blob.Position = 0;
        var diffId = await new LayerApplier().ApplyBlobAsync(blob, layer.Descriptor.MediaType, dir.Combine("root"));
        Assert.Equal(layer.DiffId, diffId);
    }

    [Fact]
    public async Task Hard_link_entries_share_the_inode_of_their_target()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("root");
        var tar = await new LayerTarWriter().WriteToArrayAsync([LayerEntry.File("a", "same"u8.ToArray()), LayerEntry.HardLink("b", "a")]);
        await new LayerApplier().ApplyAsync(new MemoryStream(tar), root);
        var a = BuildFarm.Oci.Native.Posix.LStat(Path.Combine(root, "a"));
        var b = BuildFarm.Oci.Native.Posix.LStat(Path.Combine(root, "b"));
        Assert.Equal(a.Inode, b.Inode);
        Assert.Equal(2UL, a.LinkCount);
    }
}
