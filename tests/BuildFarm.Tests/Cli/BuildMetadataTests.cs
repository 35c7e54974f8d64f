using System.Text;
using BuildFarm.Cli;
using BuildFarm.Coordinator.Builds;

namespace BuildFarm.Tests.Cli;

public sealed class BuildMetadataTests
{
    private const string Index = "sha256:9d7e47b177ea1cf164670a70459a0fb5ecc1c702a48969d6016aadb81a708ad1";

    [Fact]
    public void Metadata_of_a_multi_platform_build_has_buildx_keys_order_and_indentation()
    {
        // What buildx 0.13 (dockerd 26.1, containerd image store) wrote for `--platform linux/amd64,linux/arm64 -t bk:multi`,
        // with the values of a farm build in its place.
        const string expected = $$"""
            {
              "buildx.build.ref": "buildfarm/engine/0123456789abcdef0123456789abcdef",
              "containerimage.descriptor": {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": "{{Index}}",
                "size": 1607
              },
              "containerimage.digest": "{{Index}}",
              "image.name": "farm/multi:1"
            }
            """;
        var outcome = new BuildOutcome
        {
            Success = true,
            ManifestDigest = Index,
            ConfigDigest = "",
            ManifestMediaType = "application/vnd.oci.image.index.v1+json",
            ManifestSize = 1607,
            BuildId = "0123456789abcdef0123456789abcdef",
            ImageNames = ["farm/multi:1"],
        };

        var written = Encoding.UTF8.GetString(BuildMetadata.Write(outcome, BuildMetadata.BuildRef("unix:/root/.buildfarm/engine.sock", outcome.BuildId)));

        Assert.Equal(expected.ReplaceLineEndings("\n"), written.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(null, "buildfarm/embedded/id")]
    [InlineData("unix:/home/u/.buildfarm/engine.sock", "buildfarm/engine/id")]
    [InlineData("10.0.0.5:7070", "buildfarm/10.0.0.5:7070/id")]
    [InlineData("https://farm.example:443/", "buildfarm/farm.example:443/id")]
    public void Build_ref_has_three_parts_as_buildx_builder_node_ref(string? server, string expected) =>
        Assert.Equal(expected, BuildMetadata.BuildRef(server, "id"));
}
