using System.Formats.Tar;
using System.Text;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;

namespace BuildFarm.Tests.Oci;

public class WhiteoutTests
{
    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<byte[]> TarOfDirectoryAsync(string directory, WhiteoutTranslation whiteouts)
    {
        using var ms = new MemoryStream();
        await new LayerTarWriter().WriteAsync(DirectoryLayerSource.Read(directory, whiteouts), ms);
        return ms.ToArray();
    }

    private static async Task<List<string>> NamesAsync(byte[] tar)
    {
        var names = new List<string>();
        await using var reader = new TarReader(new MemoryStream(tar));
        while (await reader.GetNextEntryAsync() is { } e) names.Add(e.Name);
        return names;
    }

    [Fact]
    public async Task Overlay_char_device_0_0_becomes_a_wh_entry()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("etc"));
        Posix.MkNod(dir.Combine("etc/passwd"), FileStatus.CharDevice, 0, 0);
        var names = await NamesAsync(await TarOfDirectoryAsync(dir.Path, WhiteoutTranslation.Overlay));
        Assert.Equal(["etc/", "etc/.wh.passwd"], names);
    }

    [Fact]
    public async Task Overlay_opaque_xattr_becomes_an_opaque_marker_and_is_not_copied_as_xattr()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("opt/app"));
        File.WriteAllText(dir.Combine("opt/app/new"), "n");
        Posix.SetXattr(dir.Combine("opt/app"), Whiteouts.OverlayOpaqueXattr, "y"u8);
        var tar = await TarOfDirectoryAsync(dir.Path, WhiteoutTranslation.Overlay);
        Assert.Equal(["opt/", "opt/app/", "opt/app/.wh..wh..opq", "opt/app/new"], await NamesAsync(tar));
        Assert.DoesNotContain("trusted.overlay", Encoding.Latin1.GetString(tar));
    }

    [Fact]
    public async Task Without_translation_a_char_device_0_0_stays_a_device()
    {
        using var dir = new TempDirectory();
        Posix.MkNod(dir.Combine("dev0"), FileStatus.CharDevice, 0, 0);
        Assert.Equal(["dev0"], await NamesAsync(await TarOfDirectoryAsync(dir.Path, WhiteoutTranslation.None)));
    }

    [Fact]
    public async Task Overlay_upperdir_round_trips_through_a_layer_into_an_overlay_lowerdir()
    {
        using var dir = new TempDirectory();
        var upper = dir.CreateSubdirectory("upper");
        Directory.CreateDirectory(Path.Combine(upper, "etc"));
        Posix.MkNod(Path.Combine(upper, "etc/gone"), FileStatus.CharDevice, 0, 0);
        Directory.CreateDirectory(Path.Combine(upper, "opaque"));
        Posix.SetXattr(Path.Combine(upper, "opaque"), Whiteouts.OverlayOpaqueXattr, "y"u8);
        File.WriteAllText(Path.Combine(upper, "opaque/kept"), "k");

        var tar = await TarOfDirectoryAsync(upper, WhiteoutTranslation.Overlay);
        var lower = dir.Combine("lower");
        await new LayerApplier(new LayerApplyOptions { Whiteouts = WhiteoutTranslation.Overlay }).ApplyAsync(new MemoryStream(tar), lower);

        Assert.Equal(TreeSnapshot.Take(upper), TreeSnapshot.Take(lower));
        Assert.Equal("y"u8.ToArray(), Posix.GetXattr(Path.Combine(lower, "opaque"), Whiteouts.OverlayOpaqueXattr));
    }

    [Fact]
    public async Task Deleting_replacing_and_opaque_directories_across_three_layers_extract_to_the_expected_tree()
    {
        using var dir = new TempDirectory();
        var writer = new LayerTarWriter();

        // Layer 1: a plain tree, read from disk.
        var base1 = dir.CreateSubdirectory("layer1");
        foreach (var d in new[] { "etc", "opt/app/lib", "var/log", "keep/sub" }) Directory.CreateDirectory(Path.Combine(base1, d));
        File.WriteAllText(Path.Combine(base1, "etc/a.conf"), "a1");
        File.WriteAllText(Path.Combine(base1, "etc/b.conf"), "b1");
        File.WriteAllText(Path.Combine(base1, "opt/app/bin"), "bin1");
        File.WriteAllText(Path.Combine(base1, "opt/app/lib/x.so"), "x1");
        File.WriteAllText(Path.Combine(base1, "var/log/old.log"), "old");
        File.WriteAllText(Path.Combine(base1, "keep/sub/k"), "k");
        var layer1 = await TarOfDirectoryAsync(base1, WhiteoutTranslation.None);

        // Layer 2: an overlay upperdir: delete a.conf, replace b.conf, make opt/app opaque, turn var/log into a file.
        var upper2 = dir.CreateSubdirectory("layer2");
        Directory.CreateDirectory(Path.Combine(upper2, "etc"));
        Posix.MkNod(Path.Combine(upper2, "etc/a.conf"), FileStatus.CharDevice, 0, 0);
        File.WriteAllText(Path.Combine(upper2, "etc/b.conf"), "b2");
        Directory.CreateDirectory(Path.Combine(upper2, "opt/app"));
        Posix.SetXattr(Path.Combine(upper2, "opt/app"), Whiteouts.OverlayOpaqueXattr, "y"u8);
        File.WriteAllText(Path.Combine(upper2, "opt/app/new"), "new2");
        Directory.CreateDirectory(Path.Combine(upper2, "var"));
        File.WriteAllText(Path.Combine(upper2, "var/log"), "now a file");
        var layer2 = await TarOfDirectoryAsync(upper2, WhiteoutTranslation.Overlay);

        // Layer 3: entries: delete a directory and a file added by layer 2, bring var/log back as a directory.
        var layer3 = await writer.WriteToArrayAsync([
            LayerEntry.Whiteout("keep"),
            LayerEntry.Directory("opt/app"),
            LayerEntry.Whiteout("opt/app/new"),
            LayerEntry.File("opt/app/run", Text("run3")),
            LayerEntry.Directory("var/log"),
            LayerEntry.File("var/log/new.log", Text("new3")),
            LayerEntry.File("etc/c.conf", Text("c3")),
        ]);

        var root = dir.Combine("rootfs");
        var applier = new LayerApplier();
        foreach (var layer in new[] { layer1, layer2, layer3 })
            await applier.ApplyAsync(new MemoryStream(layer), root);

        string[] expected =
        [
            "etc/ 755",
            $"etc/b.conf 644 {TreeSnapshot.HashOf("b2")}",
            $"etc/c.conf 644 {TreeSnapshot.HashOf("c3")}",
            "opt/ 755",
            "opt/app/ 755",
            $"opt/app/run 644 {TreeSnapshot.HashOf("run3")}",
            "var/ 755",
            "var/log/ 755",
            $"var/log/new.log 644 {TreeSnapshot.HashOf("new3")}",
        ];
        Assert.Equal(expected, TreeSnapshot.Take(root));
    }

    [Fact]
    public async Task Opaque_directory_hides_lower_entries_but_keeps_what_its_own_layer_wrote_before_the_marker()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("rootfs");
        var applier = new LayerApplier();
        await applier.ApplyAsync(new MemoryStream(await new LayerTarWriter().WriteToArrayAsync([
            LayerEntry.File("d/-old", Text("lower")), LayerEntry.File("d/sub/lower", Text("lower")),
        ])), root);

        // Hand-made order: the marker comes after siblings of this layer, as some producers write it.
        using var tar = new MemoryStream();
        await using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            await w.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "d/-new") { DataStream = new MemoryStream(Text("upper")) });
            await w.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "d/sub/upper") { DataStream = new MemoryStream(Text("upper")) });
            await w.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "d/.wh..wh..opq"));
        }
        tar.Position = 0;
        await applier.ApplyAsync(tar, root);

        var files = TreeSnapshot.Take(root).Where(l => !l.EndsWith('/') && !l.Contains("/ ")).Select(l => l.Split(' ')[0]);
        Assert.Equal(["d/-new", "d/sub/upper"], files);
    }

    [Fact]
    public async Task Whiteout_of_something_that_never_existed_creates_nothing()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("rootfs");
        var tar = await new LayerTarWriter().WriteToArrayAsync([LayerEntry.Whiteout("no/such/dir/file"), LayerEntry.File("kept", Text("k"))]);
        await new LayerApplier().ApplyAsync(new MemoryStream(tar), root);
        Assert.Equal([$"kept 644 {TreeSnapshot.HashOf("k")}"], TreeSnapshot.Take(root));
    }
}
