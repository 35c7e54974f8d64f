using System.Collections;
using BuildFarm.Cli;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Tests.Cli;

/// <summary>The host settings of quotas, the metrics endpoint and the OTLP collector.</summary>
public sealed class TelemetrySettingsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("bf-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private CliEnvironment Environment(params (string Name, string Value)[] variables)
    {
        var table = new Hashtable { ["BUILDFARM_HOME"] = _home };
        foreach (var (name, value) in variables) table[name] = value;
        return CliEnvironment.From(table);
    }

    private static FarmSettings Load(CliEnvironment environment, Dictionary<string, string>? flags = null) =>
        FarmSettingsLoader.Load(environment, HostRole.Coordinator, flags ?? [], null);

    [Fact]
    public void Quotas_come_from_the_config_file_with_team_quota_flags_over_them()
    {
        File.WriteAllText(Path.Combine(_home, "farm.json"), """{ "quotas": { "a": 2, "b": 3, "*": 4, "@local": 8 } }""");

        var quotas = Load(Environment(), new() { ["team-quota"] = "b=5, c=1" }).Quotas;

        Assert.Equal((2, 5, 1, 4, 8), (quotas.LimitOf("a"), quotas.LimitOf("b"), quotas.LimitOf("c"), quotas.LimitOf("zz"), quotas.LimitOf("")));
    }

    [Fact]
    public void Without_quotas_every_team_is_unlimited()
    {
        var quotas = Load(Environment()).Quotas;

        Assert.Null(quotas.LimitOf("a"));
        Assert.Null(quotas.LimitOf(""));
    }

    [Theory]
    [InlineData("team-quota", "a", "--team-quota a: \"a\" is not TEAM=N")]
    [InlineData("team-quota", "a=0", "--team-quota a=0: the quota of team a must be a number of running steps from 1 to 100000, not \"0\"")]
    [InlineData("metrics-listen", "127.0.0.1:0", "--metrics-listen 127.0.0.1:0: needs a fixed port")]
    [InlineData("metrics-listen", "localhost:9", "--metrics-listen localhost:9: expected IP:PORT")]
    [InlineData("otlp-endpoint", "collector:4317", "--otlp-endpoint collector:4317: expected the collector's http:// or https:// address")]
    public void A_bad_value_names_the_setting_and_the_value(string key, string value, string expected)
    {
        var error = Assert.Throws<SettingsException>(() => Load(Environment(), new() { [key] = value }));

        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void The_OTLP_endpoint_follows_OTEL_EXPORTER_OTLP_ENDPOINT_unless_given()
    {
        var environment = Environment(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"));

        Assert.Equal(new Uri("http://127.0.0.1:4317"), Load(environment).OtlpEndpoint);
        Assert.Equal(new Uri("http://10.0.0.9:4317"), Load(environment, new() { ["otlp-endpoint"] = "http://10.0.0.9:4317" }).OtlpEndpoint);
        Assert.Null(Load(Environment()).OtlpEndpoint);
    }

    [Fact]
    public void The_metrics_endpoint_is_off_unless_given()
    {
        Assert.Null(Load(Environment()).MetricsListen);
        Assert.Equal("127.0.0.1:9464", Load(Environment(), new() { ["metrics-listen"] = "127.0.0.1:9464" }).MetricsListen?.ToString());
    }
}
