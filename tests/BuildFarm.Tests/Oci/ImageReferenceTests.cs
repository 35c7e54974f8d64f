using BuildFarm.Oci;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Tests.Oci;

public class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest")]
    [InlineData("library/busybox:1.36", "docker.io/library/busybox:1.36")]
    [InlineData("docker.io/busybox", "docker.io/library/busybox:latest")]
    [InlineData("index.docker.io/team/app:v1", "docker.io/team/app:v1")]
    [InlineData("ghcr.io/org/app/sub:1.0", "ghcr.io/org/app/sub:1.0")]
    [InlineData("localhost/app", "localhost/app:latest")]
    [InlineData("localhost:5000/app:dev", "localhost:5000/app:dev")]
    [InlineData("127.0.0.1:41234/ns/app", "127.0.0.1:41234/ns/app:latest")]
    [InlineData("myhost:5000/app", "myhost:5000/app:latest")]
    public void Reference_is_normalized(string input, string expected)
    {
        Assert.Equal(expected, ImageReference.Parse(input).ToString());
    }

    [Fact]
    public void Digest_reference_has_no_default_tag_and_is_requested_by_digest()
    {
        const string digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        var r = ImageReference.Parse($"busybox@{digest}");
        Assert.Null(r.Tag);
        Assert.Equal(digest, r.Reference);
        Assert.Equal($"docker.io/library/busybox@{digest}", r.ToString());
    }

    [Fact]
    public void Tag_and_digest_together_ask_for_the_digest()
    {
        const string digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        var r = ImageReference.Parse($"localhost:5000/app:1.0@{digest}");
        Assert.Equal(("localhost:5000", "app", "1.0", digest), (r.Registry, r.Repository, r.Tag, r.Reference));
    }

    [Fact]
    public void Docker_hub_is_reached_on_its_api_host_and_loopback_over_http()
    {
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("busybox").Endpoint);
        Assert.True(ImageReference.Parse("localhost:5000/a").IsLoopback);
        Assert.True(ImageReference.Parse("127.0.0.1:5000/a").IsLoopback);
        Assert.False(ImageReference.Parse("ghcr.io/a").IsLoopback);
    }

    [Theory]
    [InlineData("Busybox", "lowercase")]
    [InlineData("busybox:", "tag")]
    [InlineData("busybox@sha256:abc", "digest")]
    [InlineData("a//b", "repository")]
    [InlineData("", "empty")]
    public void Malformed_references_are_rejected_with_the_cause(string input, string cause)
    {
        var e = Assert.Throws<FormatException>(() => ImageReference.Parse(input));
        Assert.Contains(cause, e.Message);
    }

    [Fact]
    public void With_digest_keeps_registry_and_repository()
    {
        var d = Digest.Compute("x"u8);
        var r = ImageReference.Parse("localhost:5000/app:1").WithDigest(d);
        Assert.Equal($"localhost:5000/app:1@{d}", r.ToString());
    }
}
