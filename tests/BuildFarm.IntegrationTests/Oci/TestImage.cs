using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Native;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>Builds small but varied test images (owners, modes, links, long names, whiteouts) into OCI layouts.</summary>
public static class TestImage
{
    public static ImageConfig Config => new()
    {
        Architecture = "amd64",
        Os = "linux",
        Created = "2024-01-01T00:00:00Z",
        Config = new ContainerConfig { Env = ["PATH=/usr/bin:/bin"], Cmd = ["/bin/sh"], WorkingDir = "/" },
        RootFs = new RootFs { DiffIds = [] },
    };

    /// <summary>A tree with the kinds of entries a real rootfs has.</summary>
    public static void MakeBaseTree(string root)
    {
        foreach (var d in new[] { "etc", "usr/bin", "home/user", "var/log", "opt/app/lib" })
            Directory.CreateDirectory(Path.Combine(root, d));
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "buildfarm\n");
        File.WriteAllText(Path.Combine(root, "etc/removed.conf"), "goes away in layer 2\n");
        File.WriteAllText(Path.Combine(root, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
        Posix.Chmod(Path.Combine(root, "usr/bin/tool"), 0b111_101_101);
        File.WriteAllText(Path.Combine(root, "usr/bin/suid"), "s");
        Posix.Chmod(Path.Combine(root, "usr/bin/suid"), 0b100_111_101_101);
        Posix.Link(Path.Combine(root, "usr/bin/tool"), Path.Combine(root, "usr/bin/tool-hardlink"));
        File.CreateSymbolicLink(Path.Combine(root, "bin"), "usr/bin");
        File.WriteAllText(Path.Combine(root, "home/user/notes"), "mine");
        Posix.LChown(Path.Combine(root, "home/user"), 1000, 1000);
        Posix.LChown(Path.Combine(root, "home/user/notes"), 1000, 1000);
        File.WriteAllBytes(Path.Combine(root, "var/log/big.bin"), RandomBytes(200_000));
        File.WriteAllText(Path.Combine(root, "opt/app/lib/old.so"), "old");
        var longDir = Path.Combine(root, string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 5)));
        Directory.CreateDirectory(longDir);
        File.WriteAllText(Path.Combine(longDir, "leaf-file-with-a-long-name.txt"), "deep");
    }

    /// <summary>An overlay upperdir on top of <see cref="MakeBaseTree"/>: a whiteout, an opaque dir, a changed file.</summary>
    public static void MakeUpperTree(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Posix.MkNod(Path.Combine(root, "etc/removed.conf"), FileStatus.CharDevice, 0, 0);
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "changed\n");
        Directory.CreateDirectory(Path.Combine(root, "opt/app"));
        Posix.SetXattr(Path.Combine(root, "opt/app"), Whiteouts.OverlayOpaqueXattr, "y"u8);
        File.WriteAllText(Path.Combine(root, "opt/app/new.so"), "new");
    }

    /// <summary>What a rootfs of base + upper must contain.</summary>
    public static void MakeExpectedMergedTree(string root)
    {
        MakeBaseTree(root);
        File.Delete(Path.Combine(root, "etc/removed.conf"));
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "changed\n");
        Directory.Delete(Path.Combine(root, "opt/app/lib"), recursive: true);
        File.WriteAllText(Path.Combine(root, "opt/app/new.so"), "new");
    }

    /// <summary>Writes a one- or two-layer image into a layout under <paramref name="refName"/>.</summary>
    public static async Task<Descriptor> WriteAsync(OciLayout layout, string refName, LayerCompression compression, params (string Directory, WhiteoutTranslation Whiteouts)[] layers)
    {
        var written = new List<CompressedLayer>();
        foreach (var (directory, whiteouts) in layers)
            written.Add(await layout.AddLayerAsync(directory, compression, whiteouts));
        return await layout.AddImageAsync(Config, written, refName);
    }

    private static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        new Random(7).NextBytes(bytes);
        return bytes;
    }
}
