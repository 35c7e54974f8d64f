using BuildFarm.Coordinator.Builds;

namespace BuildFarm.Tests.Builds;

/// <summary>A --build-context value taken apart, and put back at the place a server wrote the client's files.</summary>
public sealed class NamedContextSourceTests
{
    [Theory]
    [InlineData("/src/lib", NamedContextKind.Folder, "/src/lib", "")]
    [InlineData("oci-layout:///src/layout", NamedContextKind.OciLayout, "/src/layout", "")]
    [InlineData("oci-layout:///src/layout:v1", NamedContextKind.OciLayout, "/src/layout", ":v1")]
    [InlineData("oci-layout:///src/layout@sha256:abc", NamedContextKind.OciLayout, "/src/layout", "@sha256:abc")]
    [InlineData("oci-layout:///src/a:b/layout", NamedContextKind.OciLayout, "/src/a:b/layout", "")]
    [InlineData("docker-image://alpine:3", NamedContextKind.Image, "alpine:3", "")]
    [InlineData("target:build", NamedContextKind.Stage, "build", "")]
    public void Parse_names_the_kind_the_path_and_what_picks_the_image(string value, NamedContextKind kind, string path, string suffix)
    {
        Assert.Equal(new NamedContextSource(kind, path, suffix), NamedContextSource.Parse(value));
    }

    [Fact]
    public void A_layout_moved_to_the_servers_copy_keeps_its_tag()
    {
        Assert.Equal("oci-layout:///scratch/ctx-1-named-0:v1", NamedContextSource.Parse("oci-layout:///home/me/layout:v1").At("/scratch/ctx-1-named-0"));
        Assert.Equal("/scratch/ctx-1-named-1", NamedContextSource.Parse("/home/me/lib").At("/scratch/ctx-1-named-1"));
    }
}
