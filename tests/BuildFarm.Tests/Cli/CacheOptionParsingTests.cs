using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.Cli;

public sealed class CacheOptionParsingTests
{
    [Fact]
    public void Cache_to_local_makes_dest_absolute_and_keeps_mode()
    {
        var option = BuildArguments.ParseCacheOption("type=local,dest=cache-dir,mode=max", "--cache-to");
        Assert.Equal("local", option.Type);
        Assert.Equal(Path.GetFullPath("cache-dir"), option.Attrs["dest"]);
        Assert.Equal("max", option.Attrs["mode"]);
    }

    [Fact]
    public void Cache_from_a_bare_name_is_a_registry_ref_as_in_buildx()
    {
        var option = BuildArguments.ParseCacheOption("127.0.0.1:5000/app:cache", "--cache-from");
        Assert.Equal("registry", option.Type);
        Assert.Equal("127.0.0.1:5000/app:cache", option.Attrs["ref"]);
    }

    [Theory]
    [InlineData("type=local", "--cache-from", "type=local needs src=DIR")]
    [InlineData("type=local,src=x", "--cache-to", "type=local needs dest=DIR")]
    [InlineData("type=registry", "--cache-to", "type=registry needs ref=NAME")]
    [InlineData("type=gha", "--cache-to", "type gha is not supported (local, registry)")]
    [InlineData("type=local,dest=x,mode=all", "--cache-to", "mode=all (expected min or max)")]
    [InlineData("type=registry,ref=app@sha256:zz", "--cache-from", "ref app@sha256:zz:")]
    public void Bad_cache_option_is_refused_naming_the_flag_and_the_cause(string value, string flag, string expected)
    {
        var error = Assert.Throws<UsageException>(() => BuildArguments.ParseCacheOption(value, flag));
        Assert.Contains($"invalid {flag} \"{value}\"", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Output_type_docker_without_dest_is_accepted_for_loading()
    {
        var output = BuildArguments.ParseOutput("type=docker");
        Assert.Equal("docker", output.Type);
        Assert.False(output.Attrs.ContainsKey("dest"));
    }
}
