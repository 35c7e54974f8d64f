using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class ConvertHelpersCorpusTests
{
    public static TheoryData<int> AddEnvCases => ConvertCorpus.Indexes("add_env");
    public static TheoryData<int> KeyValueCases => ConvertCorpus.Indexes("parse_key_value");
    public static TheoryData<int> EnvAndArgsCases => ConvertCorpus.Indexes("env_and_args_for_run");
    public static TheoryData<int> ProxyCases => ConvertCorpus.Indexes("proxy_build_args");
    public static TheoryData<int> SingleExposeCases => ConvertCorpus.Indexes("expose_ports", "single");
    public static TheoryData<int> ExposeListCases => ConvertCorpus.Indexes("expose_ports", "lists");

    [Theory]
    [MemberData(nameof(AddEnvCases))]
    public void Setting_an_env_replaces_the_first_entry_with_that_key_or_appends(int index)
    {
        var c = ConvertCorpus.Array("add_env")[index]!;
        var result = ImageEnv.AddEnv(ConvertCorpus.Strings(c["env"]), (string)c["key"]!, (string)c["value"]!);
        Assert.Equal(ConvertCorpus.Strings(c["expected"]), result);
    }

    [Theory]
    [MemberData(nameof(KeyValueCases))]
    public void Env_entries_split_at_the_first_equals_sign(int index)
    {
        var c = ConvertCorpus.Array("parse_key_value")[index]!;
        Assert.Equal(((string)c["key"]!, (string)c["value"]!), ImageEnv.ParseKeyValue((string)c["input"]!));
    }

    [Theory]
    [MemberData(nameof(EnvAndArgsCases))]
    public void Image_env_wins_over_build_args_for_run(int index)
    {
        var c = ConvertCorpus.Array("env_and_args_for_run")[index]!;
        var args = c["args"]!.AsArray().Select(a => new KeyValuePair<string, string?>((string)a![0]!, (string?)a[1])).ToList();
        var expected = c["expected"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);

        var result = ImageEnv.MergeEnvAndArgs(args, ConvertCorpus.Strings(c["env"]));

        Assert.Equal(expected.OrderBy(p => p.Key), result.OrderBy(p => p.Key));
    }

    [Theory]
    [MemberData(nameof(ProxyCases))]
    public void Proxy_build_args_become_proxy_env_with_lower_case_winning(int index)
    {
        var c = ConvertCorpus.Array("proxy_build_args")[index]!;
        var args = c["buildArgs"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);

        var result = ProxyEnv.FromBuildArgs(args);

        if (c["expected"] is null)
        {
            Assert.Null(result);
            return;
        }
        var e = c["expected"]!;
        Assert.Equal(new ProxyEnv((string?)e["HTTPProxy"], (string?)e["HTTPSProxy"], (string?)e["FTPProxy"], (string?)e["NoProxy"], (string?)e["AllProxy"]), result);
    }

    [Theory]
    [MemberData(nameof(SingleExposeCases))]
    public void A_port_spec_expands_to_exposed_ports(int index)
    {
        var c = ConvertCorpus.Array("expose_ports", "single")[index]!;
        var spec = (string)c["spec"]!;
        if (c["error"] is not null)
        {
            var e = Assert.Throws<FormatException>(() => ExposedPorts.ParseSpec(spec));
            Assert.Equal((string)c["error"]!, e.Message);
            return;
        }
        Assert.Equal(ConvertCorpus.Strings(c["expected"]), ExposedPorts.ParseSpec(spec));
    }

    [Theory]
    [MemberData(nameof(ExposeListCases))]
    public void A_list_of_port_specs_expands_to_exposed_ports(int index)
    {
        var c = ConvertCorpus.Array("expose_ports", "lists")[index]!;
        var specs = ConvertCorpus.Strings(c["specs"]);
        if (c["error"] is not null)
        {
            Assert.Throws<FormatException>(() => ExposedPorts.Parse(specs));
            return;
        }
        Assert.Equal(ConvertCorpus.Strings(c["expected"]).Order(StringComparer.Ordinal), ExposedPorts.Parse(specs).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/x86_64", "linux/amd64")]
    [InlineData("linux/aarch64", "linux/arm64")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("Linux/ARM64/v8", "linux/arm64")]
    public void Platforms_are_normalised(string text, string expected) => Assert.Equal(expected, PlatformSpec.Parse(text).ToString());

    [Fact]
    public void Platform_args_describe_the_target_and_the_build_platform()
    {
        var args = PlatformSpec.PlatformArgs(PlatformSpec.LinuxAmd64, PlatformSpec.LinuxAmd64);
        Assert.Equal("linux/amd64", args["TARGETPLATFORM"]);
        Assert.Equal("linux", args["TARGETOS"]);
        Assert.Equal("amd64", args["TARGETARCH"]);
        Assert.Equal("", args["TARGETVARIANT"]);
        Assert.Equal("linux/amd64", args["BUILDPLATFORM"]);
        Assert.Equal("amd64", args["BUILDARCH"]);
    }
}
