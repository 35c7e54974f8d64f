using System.Text;
using BuildFarm.IntegrationTests.Oci;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;
using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>The cold path's unpack as the engine runs it (the snapshotter's layer extraction), against GNU tar.</summary>
[Collection(WorkerCollection.Name)]
public sealed class ColdUnpackTests(WorkerFixture worker)
{
    [Fact]
    public async Task Snapshotter_unpacks_a_layer_as_gnu_tar_extracts_it()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        MakeTree(source);
        var blob = dir.Combine("layer.tar.gz");
        await ExternalTool.RunCheckedAsync("tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-czf", blob, "-C", source, ".");
        var layer = await StoreAsync(blob);
        var expected = dir.CreateSubdirectory("tar");
        await ExternalTool.RunCheckedAsync("tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpzf", blob, "-C", expected);

        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(dir.Combine("s")));
        var ours = await snapshotter.EnsureLayerAsync(layer, CancellationToken.None);

        // Owners, modes (setuid, sticky), contents, symlinks, fifos: the same, whiteouts aside (checked below).
        static IEnumerable<string> Plain(string root) => TreeSnapshot.Take(root, withOwnership: true).Where(l => !l.Contains(".wh.") && !l.StartsWith("del/gone "));
        Assert.Equal(Plain(expected), Plain(ours));
        foreach (var path in new[] { "etc/passwd", "usr/bin/su", "var/tmp", "usr/bin/link-a", "usr/bin/symlink" })
            Assert.Equal(Times(Path.Combine(expected, path)), Times(Path.Combine(ours, path)));
        Assert.Equal("hello"u8.ToArray(), Posix.GetXattr(Path.Combine(ours, "etc/passwd"), "user.note"));
        Assert.Equal(Posix.LStat(Path.Combine(ours, "usr/bin/link-a")).Inode, Posix.LStat(Path.Combine(ours, "usr/bin/link-b")).Inode);
        Assert.Equal(2UL, Posix.LStat(Path.Combine(ours, "usr/bin/link-a")).LinkCount);
        // Overlay form: a whiteout is a 0/0 char device, an opaque marker the overlay xattr (tar leaves both as files).
        var whiteout = Posix.LStat(Path.Combine(ours, "del/gone"));
        Assert.Equal((FileStatus.CharDevice, 0L, 0L), (whiteout.Type, whiteout.DeviceMajor, whiteout.DeviceMinor));
        Assert.Equal("y"u8.ToArray(), Posix.GetXattr(Path.Combine(ours, "opq"), "trusted.overlay.opaque"));
        Assert.False(File.Exists(Path.Combine(ours, "opq/.wh..wh..opq")));
        Assert.True(File.Exists(Path.Combine(expected, "del/.wh.gone")));
    }

    [Fact]
    public void Snapshotter_marks_its_layer_and_mount_folders_top_of_hierarchy()
    {
        using var dir = new TempDirectory();
        var probe = dir.CreateSubdirectory("probe");
        if (TopDirectoryFlag.IsSet(probe) is null) return; // this file system has no inode flags: nothing to mark

        _ = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(dir.Combine("s")));

        Assert.True(TopDirectoryFlag.IsSet(dir.Combine("s", "layers")));
        Assert.True(TopDirectoryFlag.IsSet(dir.Combine("s", "mnt")));
        Assert.False(TopDirectoryFlag.IsSet(probe));
    }

    private static (long, long) Times(string path)
    {
        var st = Posix.LStat(path);
        return (st.ModificationSeconds, st.ModificationNanoseconds);
    }

    private async Task<LayerRef> StoreAsync(string gzipTar)
    {
        Digest digest, diffId;
        await using (var f = File.OpenRead(gzipTar)) digest = await Digest.ComputeAsync(f);
        await using (var f = File.OpenRead(gzipTar))
        await using (var tar = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionMode.Decompress))
            diffId = await Digest.ComputeAsync(tar);
        await using (var f = File.OpenRead(gzipTar)) await worker.Store.PutAsync(f, digest);
        var descriptor = new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = digest.ToString(), Size = new FileInfo(gzipTar).Length };
        return new LayerRef(descriptor, diffId);
    }

    /// <summary>A small root file system with what a base layer holds: owners, setuid, sticky, hard and symbolic
    /// links, a fifo, an xattr, old mtimes, a whiteout and an opaque directory.</summary>
    private static void MakeTree(string root)
    {
        foreach (var d in new[] { "etc", "usr/bin", "var/tmp", "home/user", "del", "opq" }) Directory.CreateDirectory(Path.Combine(root, d));
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        Posix.SetXattr(Path.Combine(root, "etc/passwd"), "user.note", "hello"u8);
        File.WriteAllText(Path.Combine(root, "usr/bin/su"), "#!/bin/sh\n");
        Posix.Chmod(Path.Combine(root, "usr/bin/su"), 0b100_111_101_101); // 4755
        Posix.Chmod(Path.Combine(root, "var/tmp"), 0b001_111_111_111); // 1777
        File.WriteAllBytes(Path.Combine(root, "usr/bin/link-a"), Encoding.UTF8.GetBytes(new string('x', 300_000)));
        Posix.Link(Path.Combine(root, "usr/bin/link-a"), Path.Combine(root, "usr/bin/link-b"));
        File.CreateSymbolicLink(Path.Combine(root, "usr/bin/symlink"), "/etc/passwd");
        Posix.MkNod(Path.Combine(root, "home/user/pipe"), FileStatus.Fifo | 0b110_100_000, 0, 0);
        File.WriteAllText(Path.Combine(root, "home/user/.profile"), "export A=1\n");
        Posix.LChown(Path.Combine(root, "home/user"), 1000, 1000);
        Posix.LChown(Path.Combine(root, "home/user/.profile"), 1000, 1000);
        Posix.LChown(Path.Combine(root, "usr/bin/symlink"), 33, 33);
        File.WriteAllText(Path.Combine(root, "del/.wh.gone"), "");
        File.WriteAllText(Path.Combine(root, "opq/.wh..wh..opq"), "");
        File.WriteAllText(Path.Combine(root, "opq/kept"), "kept\n");
        foreach (var path in new[] { "etc/passwd", "usr/bin/su", "usr/bin/link-a" })
            Posix.SetTimes(Path.Combine(root, path), 1_600_000_000, 123_456_789);
        Posix.SetTimes(Path.Combine(root, "var/tmp"), 1_500_000_000, 0);
    }
}
