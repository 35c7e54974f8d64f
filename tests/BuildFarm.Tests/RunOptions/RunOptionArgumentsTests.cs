using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.RunOptions;

/// <summary>buildx's --add-host, --shm-size, --ulimit and --network values, and their refusals.</summary>
public sealed class RunOptionArgumentsTests
{
    [Theory]
    [InlineData("db:10.0.0.5", "db", "10.0.0.5")]
    [InlineData("db=10.0.0.5", "db", "10.0.0.5")]
    [InlineData("v6:[::1]", "v6", "::1")]
    public void Add_host_takes_host_and_ip(string value, string host, string ip)
    {
        var parsed = RunOptionArguments.ParseExtraHost(value);
        Assert.Equal((host, ip), (parsed.Host, parsed.Ip));
    }

    [Theory]
    [InlineData("db")]
    [InlineData("db:not-an-ip")]
    [InlineData(":10.0.0.1")]
    public void Add_host_without_a_valid_ip_is_refused_naming_the_value(string value)
    {
        var e = Assert.Throws<UsageException>(() => RunOptionArguments.ParseExtraHost(value));
        Assert.Contains($"--add-host {value}: invalid host", e.Message);
    }

    [Theory]
    [InlineData("65536", 65536)]
    [InlineData("64m", 64L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("512KiB", 512L << 10)]
    public void Shm_size_reads_docker_sizes(string value, long bytes) => Assert.Equal(bytes, RunOptionArguments.ParseShmSize(value));

    [Fact]
    public void Shm_size_that_is_not_a_size_is_refused() =>
        Assert.Contains("--shm-size lots: invalid size", Assert.Throws<UsageException>(() => RunOptionArguments.ParseShmSize("lots")).Message);

    [Fact]
    public void Ulimit_without_hard_uses_soft_for_both()
    {
        var ulimit = RunOptionArguments.ParseUlimit("nofile=1024");
        Assert.Equal(("nofile", 1024L, 1024L), (ulimit.Name, ulimit.Soft, ulimit.Hard));
    }

    [Theory]
    [InlineData("nofiles=10", "invalid ulimit type: nofiles")]
    [InlineData("nofile=20:10", "ulimit soft limit must be less than or equal to hard limit: 20 > 10")]
    [InlineData("nofile", "invalid ulimit argument")]
    public void Bad_ulimits_are_refused_with_go_units_words(string value, string message) =>
        Assert.Contains(message, Assert.Throws<UsageException>(() => RunOptionArguments.ParseUlimit(value)).Message);

    [Fact]
    public void Unknown_network_mode_is_refused() =>
        Assert.Contains("--network bridge: network mode not supported", Assert.Throws<UsageException>(() => RunOptionArguments.ParseNetwork("bridge")).Message);
}
