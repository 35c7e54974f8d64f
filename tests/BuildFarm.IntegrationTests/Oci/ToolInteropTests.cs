using System.Text.Json;
using BuildFarm.Oci;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>What we write is read by skopeo and umoci, and what they write is read by us.</summary>
public class ToolInteropTests
{
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task Skopeo_inspects_an_oci_layout_we_wrote(LayerCompression compression)
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        TestImage.MakeBaseTree(source);
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var manifest = await TestImage.WriteAsync(layout, "v1", compression, (source, WhiteoutTranslation.None));

        var raw = await ExternalTool.RunCheckedAsync("skopeo", "inspect", "--raw", $"oci:{layout.Root}:v1");
        Assert.Equal(manifest.Digest, Digest.Compute(System.Text.Encoding.UTF8.GetBytes(raw)).ToString());
        using var inspect = JsonDocument.Parse(await ExternalTool.RunCheckedAsync("skopeo", "inspect", $"oci:{layout.Root}:v1"));
        Assert.Equal("amd64", inspect.RootElement.GetProperty("Architecture").GetString());
        Assert.Equal(1, inspect.RootElement.GetProperty("Layers").GetArrayLength());
    }

    [Fact]
    public async Task Umoci_unpacks_our_layout_to_the_source_files_with_owners_and_modes()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        TestImage.MakeBaseTree(source);
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        await TestImage.WriteAsync(layout, "v1", LayerCompression.Gzip, (source, WhiteoutTranslation.None));

        var result = await ExternalTool.RunAsync("umoci", ["unpack", "--image", $"{layout.Root}:v1", dir.Combine("bundle")]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("warn", result.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TreeSnapshot.Take(source, withOwnership: true), TreeSnapshot.Take(dir.Combine("bundle", "rootfs"), withOwnership: true));
    }

    [Fact]
    public async Task Umoci_applies_our_whiteouts_and_opaque_directories_like_our_applier()
    {
        using var dir = new TempDirectory();
        var lower = dir.CreateSubdirectory("lower");
        var upper = dir.CreateSubdirectory("upper");
        var expected = dir.CreateSubdirectory("expected");
        TestImage.MakeBaseTree(lower);
        TestImage.MakeUpperTree(upper);
        TestImage.MakeExpectedMergedTree(expected);
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var manifestDescriptor = await TestImage.WriteAsync(layout, "v2", LayerCompression.Gzip, // umoci 0.4.7 cannot read zstd layers
            (lower, WhiteoutTranslation.None), (upper, WhiteoutTranslation.Overlay));

        await ExternalTool.RunCheckedAsync("umoci", "unpack", "--image", $"{layout.Root}:v2", dir.Combine("bundle"));
        var ours = dir.Combine("ours");
        var manifest = ImageManifest.Parse(await layout.ReadBlobAsync(manifestDescriptor));
        foreach (var layer in manifest.Layers)
        {
            await using var blob = layout.OpenBlob(layer);
            await new LayerApplier().ApplyBlobAsync(blob, layer.MediaType, ours);
        }

        // Directory modes/owners of the upper layer's dirs follow the upperdir, so compare files and links only.
        static IEnumerable<string> Content(string root) => TreeSnapshot.Take(root).Where(l => !l.Contains("/ "));
        Assert.Equal(Content(expected), Content(dir.Combine("bundle", "rootfs")));
        Assert.Equal(Content(expected), Content(ours));
    }

    [Fact]
    public async Task Skopeo_reads_our_oci_archive_tar()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        TestImage.MakeBaseTree(source);
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var manifest = await TestImage.WriteAsync(layout, "v1", LayerCompression.Gzip, (source, WhiteoutTranslation.None));
        var archive = dir.Combine("image.oci.tar");
        await using (var f = File.Create(archive)) await layout.WriteTarAsync(f);

        var raw = await ExternalTool.RunCheckedAsync("skopeo", "inspect", "--raw", $"oci-archive:{archive}:v1");
        Assert.Equal(manifest.Digest, Digest.Compute(System.Text.Encoding.UTF8.GetBytes(raw)).ToString());
    }

    [Fact]
    public async Task Skopeo_loads_our_docker_archive_with_the_same_config_and_diff_ids()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        TestImage.MakeBaseTree(source);
        var tarPath = dir.Combine("layer.tar");
        await using (var f = File.Create(tarPath))
            await new LayerTarWriter().WriteAsync(DirectoryLayerSource.Read(source), f);
        Digest diffId;
        await using (var f = File.OpenRead(tarPath)) diffId = await Digest.ComputeAsync(f);
        var configBytes = (TestImage.Config with { RootFs = new RootFs { DiffIds = [diffId.ToString()] } }).ToJson();
        var archive = dir.Combine("docker.tar");
        await using (var f = File.Create(archive))
            await DockerArchiveWriter.WriteAsync([new DockerArchiveImage { ConfigBytes = configBytes, LayerTarPaths = [tarPath], RepoTags = ["example.com/app:1"] }], f);

        var config = await ExternalTool.RunCheckedAsync("skopeo", "inspect", "--config", "--raw", $"docker-archive:{archive}");
        Assert.Equal(Digest.Compute(configBytes), Digest.Compute(System.Text.Encoding.UTF8.GetBytes(config)));
        await ExternalTool.RunCheckedAsync("skopeo", "--insecure-policy", "copy", $"docker-archive:{archive}", $"oci:{dir.Combine("copied")}:app");
        await ExternalTool.RunCheckedAsync("umoci", "unpack", "--image", $"{dir.Combine("copied")}:app", dir.Combine("bundle"));
        Assert.Equal(TreeSnapshot.Take(source, withOwnership: true), TreeSnapshot.Take(dir.Combine("bundle", "rootfs"), withOwnership: true));
    }

    [Fact]
    public async Task Layout_written_by_skopeo_is_read_by_us()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        TestImage.MakeBaseTree(source);
        var ours = await OciLayout.OpenOrCreateAsync(dir.Combine("ours"));
        await TestImage.WriteAsync(ours, "v1", LayerCompression.Gzip, (source, WhiteoutTranslation.None));
        // skopeo re-writes the image into a fresh layout of its own making (it recompresses nothing for oci→oci).
        await ExternalTool.RunCheckedAsync("skopeo", "--insecure-policy", "copy", "--format", "oci", $"oci:{ours.Root}:v1", $"oci:{dir.Combine("theirs")}:copied");

        var theirs = await OciLayout.OpenAsync(dir.Combine("theirs"));
        var top = await theirs.ResolveAsync("copied");
        var manifest = (await theirs.ReadManifestAsync(top)).ParseManifest();
        var rootfs = dir.Combine("rootfs");
        foreach (var layer in manifest.Layers)
        {
            await using var blob = theirs.OpenBlob(layer);
            await new LayerApplier().ApplyBlobAsync(blob, layer.MediaType, rootfs);
        }
        Assert.Equal(TreeSnapshot.Take(source, withOwnership: true), TreeSnapshot.Take(rootfs, withOwnership: true));
    }
}
