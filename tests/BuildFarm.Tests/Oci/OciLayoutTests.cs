using BuildFarm.Oci;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;

namespace BuildFarm.Tests.Oci;

public class OciLayoutTests(OciSchemaValidator validator) : IClassFixture<OciSchemaValidator>
{

    private static ImageConfig BaseConfig => new()
    {
        Architecture = "amd64",
        Os = "linux",
        Created = "2024-01-01T00:00:00Z",
        Config = new ContainerConfig { Env = ["PATH=/bin"], Cmd = ["/bin/sh"] },
        RootFs = new RootFs { DiffIds = [] },
        History = [new HistoryEntry { CreatedBy = "test layer" }],
    };

    private static async Task<(OciLayout Layout, Descriptor Manifest, string Source)> MakeImageAsync(TempDirectory dir)
    {
        var source = dir.CreateSubdirectory("src");
        Directory.CreateDirectory(Path.Combine(source, "etc"));
        File.WriteAllText(Path.Combine(source, "etc/motd"), "hello");
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var layer = await layout.AddLayerAsync(source, LayerCompression.Gzip);
        var manifest = await layout.AddImageAsync(BaseConfig, [layer], "v1");
        return (layout, manifest, source);
    }

    [Fact]
    public async Task Every_document_of_a_layout_we_write_validates_against_its_schema()
    {
        using var dir = new TempDirectory();
        var (layout, manifestDescriptor, _) = await MakeImageAsync(dir);
        validator.AssertValid(MediaTypes.OciLayoutHeader, File.ReadAllBytes(Path.Combine(layout.Root, "oci-layout")));
        validator.AssertValid(MediaTypes.OciIndex, File.ReadAllBytes(Path.Combine(layout.Root, "index.json")));
        var manifestBytes = await layout.ReadBlobAsync(manifestDescriptor);
        validator.AssertValid(MediaTypes.OciManifest, manifestBytes);
        var manifest = ImageManifest.Parse(manifestBytes);
        validator.AssertValid(MediaTypes.OciConfig, await layout.ReadBlobAsync(manifest.Config));
        validator.AssertValid(MediaTypes.OciDescriptor, OciJson.Serialize(manifestDescriptor));
    }

    [Fact]
    public async Task Config_diff_ids_are_the_digests_of_the_uncompressed_layers()
    {
        using var dir = new TempDirectory();
        var (layout, manifestDescriptor, _) = await MakeImageAsync(dir);
        var manifest = ImageManifest.Parse(await layout.ReadBlobAsync(manifestDescriptor));
        var config = ImageConfig.Parse(await layout.ReadBlobAsync(manifest.Config));
        await using var tar = LayerCompressor.OpenDecompressed(layout.OpenBlob(manifest.Layers[0]), manifest.Layers[0].MediaType);
        Assert.Equal(config.RootFs.DiffIds[0], (await Digest.ComputeAsync(tar)).ToString());
    }

    [Fact]
    public async Task Adding_under_an_existing_ref_name_replaces_the_entry()
    {
        using var dir = new TempDirectory();
        var (layout, first, _) = await MakeImageAsync(dir);
        var second = await layout.AddImageAsync(BaseConfig with { Author = "someone else" }, [], "v1");
        var index = await layout.ReadIndexAsync();
        Assert.Equal(second.Digest, Assert.Single(index.Manifests).Digest);
        Assert.NotEqual(first.Digest, second.Digest);
        Assert.Equal(second.Digest, (await layout.ResolveAsync("v1")).Digest);
    }

    [Fact]
    public async Task Blob_that_does_not_match_its_expected_digest_is_refused()
    {
        using var dir = new TempDirectory();
        var layout = await OciLayout.OpenOrCreateAsync(dir.Path);
        var expected = Descriptor.For(MediaTypes.OciLayer, "right"u8);
        await Assert.ThrowsAsync<BlobDigestMismatchException>(() => layout.WriteBlobAsync(new MemoryStream("wrong"u8.ToArray()), MediaTypes.OciLayer, expected));
        Assert.False(layout.HasBlob(expected.ParsedDigest));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "blobs"), ".tmp-*"));
    }

    [Fact]
    public async Task Reading_a_tampered_blob_fails_with_the_digests_named()
    {
        using var dir = new TempDirectory();
        var layout = await OciLayout.OpenOrCreateAsync(dir.Path);
        var d = await layout.WriteBlobAsync("original"u8.ToArray(), MediaTypes.OciLayer);
        File.WriteAllText(layout.BlobPath(d.ParsedDigest), "tampered");
        var e = await Assert.ThrowsAsync<BlobDigestMismatchException>(() => layout.ReadBlobAsync(d));
        Assert.Contains(d.Digest, e.Message);
    }

    [Fact]
    public async Task Layout_tar_is_deterministic_and_extracts_to_the_same_image()
    {
        using var dir = new TempDirectory();
        var (layout, manifest, _) = await MakeImageAsync(dir);
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        await layout.WriteTarAsync(a);
        await layout.WriteTarAsync(b);
        Assert.Equal(a.ToArray(), b.ToArray());

        a.Position = 0;
        var copy = await OciLayout.ExtractTarAsync(a, dir.Combine("extracted"));
        Assert.Equal(manifest.Digest, (await copy.ResolveAsync("v1")).Digest);
        Assert.Equal(await layout.ReadBlobAsync(manifest), await copy.ReadBlobAsync(manifest));
    }

    [Fact]
    public async Task Opening_a_directory_that_is_not_a_layout_names_the_missing_file()
    {
        using var dir = new TempDirectory();
        var e = await Assert.ThrowsAsync<InvalidOciDocumentException>(() => OciLayout.OpenAsync(dir.Path));
        Assert.Contains("oci-layout", e.Message);
    }

    [Fact]
    public async Task Docker_archive_round_trips_into_an_oci_layout_with_the_same_diff_ids()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        File.WriteAllText(Path.Combine(source, "file"), "content");
        var tarPath = dir.Combine("layer.tar");
        await using (var f = File.Create(tarPath))
            await new LayerTarWriter().WriteAsync(DirectoryLayerSource.Read(source), f);
        Digest diffId;
        await using (var f = File.OpenRead(tarPath)) diffId = await Digest.ComputeAsync(f);
        var configBytes = (BaseConfig with { RootFs = new RootFs { DiffIds = [diffId.ToString()] } }).ToJson();

        var archivePath = dir.Combine("image.tar");
        await using (var f = File.Create(archivePath))
            await DockerArchiveWriter.WriteAsync([new DockerArchiveImage { ConfigBytes = configBytes, LayerTarPaths = [tarPath], RepoTags = ["example.com/app:1"] }], f);

        IReadOnlyList<DockerArchiveImage> images;
        await using (var f = File.OpenRead(archivePath))
            images = await DockerArchiveReader.ExtractAsync(f, dir.Combine("unpacked"));
        var image = Assert.Single(images);
        Assert.Equal(["example.com/app:1"], image.RepoTags);
        Assert.Equal(configBytes, image.ConfigBytes);
        var repositories = File.ReadAllText(dir.Combine("unpacked", "repositories"));
        Assert.Contains($"\"example.com/app\":{{\"1\":\"{diffId.Hex}\"}}", repositories);

        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var manifestDescriptor = await DockerArchiveReader.ImportAsync(image, layout, "app", LayerCompression.Zstd);
        var manifest = ImageManifest.Parse(await layout.ReadBlobAsync(manifestDescriptor));
        Assert.Equal(MediaTypes.OciLayerZstd, manifest.Layers[0].MediaType);
        Assert.Equal(Digest.Compute(configBytes).ToString(), manifest.Config.Digest);
        validator.AssertValid(MediaTypes.OciManifest, await layout.ReadBlobAsync(manifestDescriptor));
    }

    [Fact]
    public async Task Docker_archive_refuses_a_layer_whose_digest_is_not_the_diff_id()
    {
        using var dir = new TempDirectory();
        var tarPath = dir.Combine("layer.tar");
        await File.WriteAllBytesAsync(tarPath, await new LayerTarWriter().WriteToArrayAsync([LayerEntry.File("f", "x"u8.ToArray())]));
        var configBytes = (BaseConfig with { RootFs = new RootFs { DiffIds = [Digest.Compute("other"u8).ToString()] } }).ToJson();
        await Assert.ThrowsAsync<BlobDigestMismatchException>(() =>
            DockerArchiveWriter.WriteAsync([new DockerArchiveImage { ConfigBytes = configBytes, LayerTarPaths = [tarPath] }], Stream.Null));
    }
}
