using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Registry;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The cold path of a registry base: pulled once, unpacked once per home, whatever Dockerfile uses it next.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ColdBaseTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Second_build_of_another_dockerfile_on_the_same_base_does_not_unpack_it_again()
    {
        await using var registry = await RegistryFixture.StartAsync();
        // A base of two layers, published from another home.
        var publisher = new BuildFarmCli(Path.Combine(_scratch.Root, "publisher"));
        var baseContext = _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\nRUN echo two > /layer2\nCMD [\"sh\"]\n");
        var image = $"{registry.Host}/farm/base:1";
        Assert.Equal(0, (await publisher.BuildAsync("-t", image, baseContext)).ExitCode);
        var push = await publisher.RunAsync("push", image);
        Assert.True(push.ExitCode == 0, push.ToString());

        var first = await _scratch.Cli.BuildAsync(_scratch.Context("a", $"FROM {image}\nRUN echo a > /a && cat /layer2\n"));
        Assert.True(first.ExitCode == 0, first.ToString());
        var layers = Path.Combine(_scratch.Home, "worker", "s", "layers");
        var afterFirst = await LayerInodesAsync(layers);
        Assert.True(afterFirst.Count >= 2, $"expected the base's two layers extracted, found {afterFirst.Count} in {layers}");

        var second = await _scratch.Cli.BuildAsync(_scratch.Context("b", $"FROM {image}\nRUN echo b > /b && cat /layer2\n"));
        Assert.True(second.ExitCode == 0, second.ToString());
        var afterSecond = await LayerInodesAsync(layers);

        // An unpack writes a new folder and renames it into place: the same inode means the same extraction.
        foreach (var (layer, inode) in afterFirst)
            Assert.True(afterSecond.GetValueOrDefault(layer) == inode, $"layer {layer} was extracted again by the second build");
    }

    [Fact]
    public async Task Base_layer_corrupted_in_the_registry_fails_the_build_naming_it_and_leaves_no_snapshot_to_reuse()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var publisher = new BuildFarmCli(Path.Combine(_scratch.Root, "publisher"));
        var image = $"{registry.Host}/farm/corrupt:1";
        Assert.Equal(0, (await publisher.BuildAsync("-t", image, _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\n"))).ExitCode);
        var push = await publisher.RunAsync("push", image);
        Assert.True(push.ExitCode == 0, push.ToString());

        // The registry's copy of the layer now holds other bytes under its digest (same size): a corrupted mirror.
        using var client = registry.CreateClient();
        var (document, _) = await client.GetImageManifestAsync(ImageReference.Parse(image), Platform.LinuxAmd64);
        var manifest = document.ParseManifest();
        var layer = Assert.Single(manifest.Layers);
        var diffId = ImageConfig.Parse(await client.GetBlobAsync(ImageReference.Parse(image), manifest.Config)).RootFs.DiffIds[0];
        var hex = layer.ParsedDigest.Hex;
        var data = Path.Combine(registry.StorageDirectory, "docker/registry/v2/blobs/sha256", hex[..2], hex, "data");
        var pristine = await File.ReadAllBytesAsync(data);
        var tampered = (byte[])pristine.Clone();
        tampered[tampered.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(data, tampered);

        var context = _scratch.Context("app", $"FROM {image}\nRUN test -x /bin/sh\n");
        var failed = await _scratch.Cli.BuildAsync(context);
        Assert.True(failed.ExitCode != 0, failed.ToString());
        Assert.Contains(layer.Digest, failed.Stderr + failed.Stdout);
        Assert.Matches("(?i)digest", failed.Stderr + failed.Stdout);
        var layers = Path.Combine(_scratch.Home, "worker", "s", "layers");
        Assert.False(Directory.Exists(Path.Combine(layers, diffId.Replace("sha256:", ""))), "the bad layer was kept extracted");
        Assert.Empty(Directory.Exists(layers) ? Directory.EnumerateDirectories(layers, "*.tmp-*") : []);
        Assert.Empty(Directory.EnumerateFiles(_scratch.Home, hex, SearchOption.AllDirectories)); // not in the store either

        // Mended at the source, the next build pulls and unpacks it afresh and succeeds.
        await File.WriteAllBytesAsync(data, pristine);
        var mended = await _scratch.Cli.BuildAsync(context);
        Assert.True(mended.ExitCode == 0, mended.ToString());
        Assert.True(Directory.Exists(Path.Combine(layers, diffId.Replace("sha256:", ""))));
    }

    /// <summary>Extracted layer folders (by diff id) and their inode numbers.</summary>
    private static async Task<Dictionary<string, string>> LayerInodesAsync(string layers)
    {
        var dirs = Directory.EnumerateDirectories(layers).Where(d => !Path.GetFileName(d).Contains('.')).Order().ToList();
        var inodes = new Dictionary<string, string>();
        foreach (var dir in dirs)
            inodes[Path.GetFileName(dir)] = (await BuildFarmCli.ToolAsync("stat", "-c", "%i", dir)).Trim();
        return inodes;
    }
}
