using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary><c>--platform p1[,p2…]</c> as buildx reads it.</summary>
public class PlatformListTests
{
    [Fact]
    public void Platform_list_keeps_the_order_given_and_normalises_aliases()
    {
        Assert.Equal(["linux/arm64", "linux/amd64", "linux/arm/v7"],
            PlatformSpec.ParseList("linux/aarch64, linux/x86_64,linux/arm").Select(p => p.ToString()));
    }

    [Fact]
    public void Empty_platform_list_means_linux_amd64() =>
        Assert.Equal([PlatformSpec.LinuxAmd64], PlatformSpec.ParseList(""));

    [Theory]
    [InlineData("linux/amd64,", "an empty entry")]
    [InlineData("linux/amd64,linux/x86_64", "linux/amd64 is named twice")]
    [InlineData("linux/amd64,arm64", "invalid platform \"arm64\"")]
    public void Malformed_platform_list_names_the_entry(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => PlatformSpec.ParseList(text));
        Assert.Contains(expected, error.Message);
    }
}
