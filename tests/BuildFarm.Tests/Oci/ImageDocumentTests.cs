using System.Text;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Tests.Oci;

public class ImageDocumentTests(OciSchemaValidator validator) : IClassFixture<OciSchemaValidator>
{

    private const string ManifestWithUnknownFields = """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b","size":1470,"x-config-extra":{"a":[1,2]}},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:9d3dd9504c685a304985025df4ed0283e47ac9ffa9bd0326fddf4d59513f0827","size":675598,"annotations":{"org.example.k":"v"}}],"annotations":{"com.example.key":"value"},"x-top-level":"kept"}
        """;

    [Fact]
    public void Unknown_fields_and_annotations_survive_a_parse_and_serialize()
    {
        var manifest = ImageManifest.Parse(Encoding.UTF8.GetBytes(ManifestWithUnknownFields));
        Assert.Equal(ManifestWithUnknownFields, Encoding.UTF8.GetString(manifest.ToJson()));
        Assert.Equal("value", manifest.Annotations!["com.example.key"]);
        Assert.Equal("kept", manifest.ExtensionData!["x-top-level"].GetString());
    }

    [Fact]
    public void Manifest_document_keeps_the_exact_bytes_it_was_given()
    {
        var pretty = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n  \"manifests\": []\n}\n";
        var doc = ManifestDocument.FromBytes(Encoding.UTF8.GetBytes(pretty));
        Assert.Equal(Digest.Compute(Encoding.UTF8.GetBytes(pretty)), doc.Digest);
        Assert.True(doc.IsIndex);
        Assert.Empty(doc.ParseIndex().Manifests);
    }

    [Fact]
    public void Document_without_media_type_takes_the_served_content_type()
    {
        var doc = ManifestDocument.FromBytes(Encoding.UTF8.GetBytes("""{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b","size":1},"layers":[]}"""), MediaTypes.DockerManifest);
        Assert.Equal(MediaTypes.DockerManifest, doc.MediaType);
        Assert.True(doc.IsManifest);
    }

    [Fact]
    public void Docker_manifest_list_selects_the_platform_with_variant_defaults()
    {
        var list = ImageIndex.Parse(Encoding.UTF8.GetBytes($$$"""
            {"schemaVersion":2,"mediaType":"{{{MediaTypes.DockerManifestList}}}","manifests":[
              {"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"sha256:{{{new string('1', 64)}}}","size":1,"platform":{"architecture":"amd64","os":"linux"}},
              {"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"sha256:{{{new string('2', 64)}}}","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v6"}},
              {"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"sha256:{{{new string('3', 64)}}}","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},
              {"mediaType":"{{{MediaTypes.DockerManifest}}}","digest":"sha256:{{{new string('4', 64)}}}","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}
            ]}
            """));
        Assert.EndsWith("1111", list.SelectPlatform(Platform.Parse("linux/amd64")).Digest);
        Assert.EndsWith("3333", list.SelectPlatform(Platform.Parse("linux/arm")).Digest);
        Assert.EndsWith("2222", list.SelectPlatform(Platform.Parse("linux/arm/v6")).Digest);
        Assert.EndsWith("4444", list.SelectPlatform(Platform.Parse("linux/arm64")).Digest);
        var e = Assert.Throws<PlatformNotFoundException>(() => list.SelectPlatform(Platform.Parse("linux/s390x")));
        Assert.Contains("linux/s390x", e.Message);
    }

    [Fact]
    public void Config_we_write_validates_and_keeps_history_and_diff_ids()
    {
        var diffId = Digest.Compute("layer"u8).ToString();
        var config = new ImageConfig
        {
            Created = ImageConfig.FormatTime(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
            Architecture = "amd64",
            Os = "linux",
            Config = new ContainerConfig
            {
                Env = ["PATH=/usr/bin:/bin"],
                Cmd = ["/bin/sh"],
                ExposedPorts = ContainerConfig.EmptySet(["80/tcp"]),
                Labels = new Dictionary<string, string> { ["a"] = "b" },
                Healthcheck = new HealthConfig { Test = ["CMD", "true"], Interval = 30_000_000_000 },
            },
            RootFs = new RootFs { DiffIds = [diffId] },
            History = [new HistoryEntry { CreatedBy = "RUN true", Created = "2023-11-14T22:13:20Z" }, new HistoryEntry { CreatedBy = "CMD", EmptyLayer = true }],
        };
        var json = config.ToJson();
        validator.AssertValid(MediaTypes.OciConfig, json);
        var back = ImageConfig.Parse(json);
        Assert.Equal(diffId, Assert.Single(back.RootFs.DiffIds));
        Assert.Equal("2023-11-14T22:13:20Z", back.Created);
        Assert.Equal(json, back.ToJson());
        Assert.Contains("\"80/tcp\":{}", Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void Env_entry_without_equals_sign_is_rejected()
    {
        var e = Assert.Throws<InvalidOciDocumentException>(() => ImageConfig.Parse("""{"architecture":"amd64","os":"linux","config":{"Env":["NOEQUALS"]},"rootfs":{"type":"layers","diff_ids":[]}}"""u8));
        Assert.Contains("NOEQUALS", e.Message);
    }

    [Fact]
    public void Manifest_and_index_we_write_validate_against_the_schemas()
    {
        var config = Descriptor.For(MediaTypes.OciConfig, "{}"u8);
        var manifest = new ImageManifest { Config = config, Layers = [Descriptor.For(MediaTypes.OciLayerGzip, "x"u8)], Annotations = new Dictionary<string, string> { ["k"] = "v" } };
        validator.AssertValid(MediaTypes.OciManifest, manifest.ToJson());
        var index = new ImageIndex { Manifests = [ManifestDocument.From(manifest).ToDescriptor(Platform.LinuxAmd64)] };
        validator.AssertValid(MediaTypes.OciIndex, index.ToJson());
        Assert.Contains("\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"", Encoding.UTF8.GetString(manifest.ToJson()));
    }

    [Theory]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0")]
    [InlineData("sha256+:e3b0")]
    public void Descriptor_with_a_bad_digest_is_rejected(string digest)
    {
        var d = new Descriptor { MediaType = MediaTypes.OciLayer, Digest = digest, Size = 0 };
        var e = Assert.Throws<InvalidOciDocumentException>(d.Validate);
        Assert.Contains(digest, e.Message);
    }

    [Fact]
    public void Index_of_a_single_image_without_platform_selects_that_image()
    {
        var only = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = "sha256:" + new string('5', 64), Size = 10 };
        var index = new ImageIndex { Manifests = [only] };
        Assert.Equal(only, index.SelectPlatform(Platform.Parse("linux/arm64")));
    }
}
