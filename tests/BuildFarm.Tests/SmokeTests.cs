using BuildFarm.Oci;

namespace BuildFarm.Tests;

public class DigestTests
{
    [Fact]
    public void Digest_of_empty_content_is_the_well_known_sha256()
    {
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.Compute([]).ToString());
    }

    [Theory]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:abc")]
    [InlineData("nocolon")]
    public void Digest_rejects_malformed_values(string value) => Assert.False(Digest.TryParse(value, out _));
}
