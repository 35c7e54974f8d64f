using System.Diagnostics;
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
    public async Task Entry_with_an_absolute_path_lands_under_the_root_as_containerd_extracts_it()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(FileEntry(dir.Combine("absolute")));
        await new LayerApplier().ApplyAsync(tar, dir.Combine("root"));
        Assert.False(File.Exists(dir.Combine("absolute")));
        Assert.True(File.Exists(dir.Combine("root") + dir.Combine("absolute")));
    }

    [Fact]
    public async Task Entry_with_an_absolute_path_is_refused_when_asked_to_be_strict()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(FileEntry(dir.Combine("absolute")));
        var strict = new LayerApplier(new LayerApplyOptions { AbsoluteNamesRelativeToRoot = false });
        var e = await Assert.ThrowsAsync<UnsafeLayerPathException>(() => strict.ApplyAsync(tar, dir.Combine("root")));
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

    [Fact]
    public async Task Binary_xattr_values_are_applied_byte_for_byte()
    {
        using var dir = new TempDirectory();
        byte[] value = [0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x00, 0xc3, 0x28];
        var tar = await new LayerTarWriter().WriteToArrayAsync([
            LayerEntry.File("bin/ping", "elf"u8.ToArray()) with { Xattrs = new Dictionary<string, byte[]> { ["user.cap"] = value } },
        ]);
        await new LayerApplier().ApplyAsync(new MemoryStream(tar), dir.Combine("root"));
        Assert.Equal(value, BuildFarm.Oci.Native.Posix.GetXattr(dir.Combine("root", "bin", "ping"), "user.cap"));
    }

    [Theory]
    [InlineData("gnu")]
    [InlineData("pax")]
    [InlineData("ustar")]
    public async Task Archives_made_by_gnu_tar_extract_to_the_source_tree(string format)
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        var deep = Path.Combine(source, string.Join('/', Enumerable.Repeat("long-directory-name", format == "ustar" ? 4 : 9)));
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "file.txt"), "deep");
        File.WriteAllText(Path.Combine(source, "top"), "top");
        File.CreateSymbolicLink(Path.Combine(source, "link"), "top");
        BuildFarm.Oci.Native.Posix.Link(Path.Combine(source, "top"), Path.Combine(source, "hard"));
        var tarPath = dir.Combine("a.tar");
        var psi = new ProcessStartInfo("tar", [$"--format={format}", "-C", source, "-cf", tarPath, "."]) { RedirectStandardError = true };
        using (var p = Process.Start(psi)!)
        {
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, err);
        }
        await using (var f = File.OpenRead(tarPath))
            await new LayerApplier().ApplyAsync(f, dir.Combine("root"));
        Assert.Equal(TreeSnapshot.Take(source, withOwnership: true), TreeSnapshot.Take(dir.Combine("root"), withOwnership: true));
    }

    [Fact]
    public async Task Corrupted_header_is_reported_as_not_a_tar()
    {
        using var dir = new TempDirectory();
        var tar = await new LayerTarWriter().WriteToArrayAsync([LayerEntry.File("f", "x"u8.ToArray())]);
        tar[10] ^= 0x55;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new LayerApplier().ApplyAsync(new MemoryStream(tar), dir.Combine("root")));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public async Task Archive_that_is_not_a_layer_keeps_wh_files_as_plain_files()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("root");
        File.WriteAllText(Directory.CreateDirectory(root).FullName + "/existing", "stays");
        var tar = await new LayerTarWriter().WriteToArrayAsync([LayerEntry.Whiteout("existing"), LayerEntry.OpaqueMarker("")]);
        await new LayerApplier(new LayerApplyOptions { HonorWhiteouts = false }).ApplyAsync(new MemoryStream(tar), root);
        Assert.Equal([".wh..wh..opq", ".wh.existing", "existing"], Directory.GetFiles(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Absolute_names_can_be_read_relative_to_the_root_for_user_archives()
    {
        using var dir = new TempDirectory();
        var tar = await CraftAsync(FileEntry("/etc/config", "abs"));
        await new LayerApplier(new LayerApplyOptions { AbsoluteNamesRelativeToRoot = true }).ApplyAsync(tar, dir.Combine("root"));
        Assert.Equal("abs", File.ReadAllText(dir.Combine("root", "etc", "config")));
    }

    private static PaxTarEntry DirEntry(string name) => new(TarEntryType.Directory, name);

    private static PaxTarEntry LinkEntry(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    // The applier remembers the parent directories it resolved within a layer; a later entry of the same layer that
    // replaces one of them (or a symlink they went through) must be seen by the entries after it.
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
