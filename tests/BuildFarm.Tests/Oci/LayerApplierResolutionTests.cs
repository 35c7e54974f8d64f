using System.Formats.Tar;
using System.Text;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Tests.Oci;

/// <summary>The applier remembers the parent directories it resolved within a layer; a later entry of the same layer
/// that replaces one of them (or a symlink they went through) must be seen by the entries after it.</summary>
public class LayerApplierResolutionTests
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

    private static PaxTarEntry DirEntry(string name) => new(TarEntryType.Directory, name);

    private static PaxTarEntry LinkEntry(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Fact]
    public async Task Directory_replaced_by_a_symlink_later_in_the_layer_is_followed_by_the_entries_after_it()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(DirEntry("a/"), FileEntry("a/first"), DirEntry("b/"), LinkEntry("a", "b"), FileEntry("a/second"));

        await new LayerApplier().ApplyAsync(tar, dir.Combine("root"));

        Assert.Equal("b", new FileInfo(dir.Combine("root", "a")).LinkTarget);
        Assert.True(File.Exists(dir.Combine("root", "b", "second")));
        Assert.False(File.Exists(dir.Combine("root", "b", "first")));
    }

    [Fact]
    public async Task Symlink_parent_replaced_by_a_directory_later_in_the_layer_is_no_longer_followed()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(DirEntry("real/"), LinkEntry("via", "real"), FileEntry("via/one"), DirEntry("via/"), FileEntry("via/two"));

        await new LayerApplier().ApplyAsync(tar, dir.Combine("root"));

        Assert.True(File.Exists(dir.Combine("root", "real", "one")));
        Assert.False(new FileInfo(dir.Combine("root", "via")).Attributes.HasFlag(FileAttributes.ReparsePoint));
        Assert.True(File.Exists(dir.Combine("root", "via", "two")));
        Assert.False(File.Exists(dir.Combine("root", "real", "two")));
    }
}
