using System.Collections;
using BuildFarm.Cli;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Tests.Cli;

/// <summary>The cluster bootstrap settings of the hosts (--discovery and friends), checked like every other setting.</summary>
public sealed class ClusterDiscoverySettingsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("bf-discovery-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private FarmSettings Load(HostRole role, params (string Name, string Value)[] variables)
    {
        var table = new Hashtable { ["BUILDFARM_HOME"] = _home };
        foreach (var (name, value) in variables) table[name] = value;
        return FarmSettingsLoader.Load(CliEnvironment.From(table), role, new Dictionary<string, string>(), null);
    }

    [Fact]
    public void Config_discovery_requires_every_listed_contact_point_by_default()
    {
        var settings = Load(HostRole.Coordinator, ("BUILDFARM_DISCOVERY", "config"),
            ("BUILDFARM_CONTACT_POINTS", "10.0.0.1:8558, coordinator-1:8558,10.0.0.3:8559"), ("BUILDFARM_MANAGEMENT_PORT", "8559"));

        Assert.Equal(ClusterDiscovery.Config, settings.Discovery);
        Assert.Equal(["10.0.0.1:8558", "coordinator-1:8558", "10.0.0.3:8559"], settings.ContactPoints);
        Assert.Equal((3, 8559), (settings.RequiredContactPoints, settings.ManagementPort));
    }

    [Fact]
    public void Kubernetes_discovery_selects_the_coordinator_pods_unless_told_otherwise()
    {
        var settings = Load(HostRole.Worker, ("BUILDFARM_DISCOVERY", "kubernetes"));

        Assert.Equal((ClusterDiscovery.Kubernetes, FarmSettingsLoader.DefaultPodLabelSelector, 1), (settings.Discovery, settings.PodLabelSelector, settings.RequiredContactPoints));
    }

    [Fact]
    public void Config_discovery_without_contact_points_is_refused_naming_the_variable()
    {
        var error = Assert.Throws<SettingsException>(() => Load(HostRole.Coordinator, ("BUILDFARM_DISCOVERY", "config")));

        Assert.Contains("BUILDFARM_DISCOVERY=config: needs contact-points", error.Message);
    }

    [Fact]
    public void Seeds_and_discovery_together_are_refused()
    {
        var error = Assert.Throws<SettingsException>(() => Load(HostRole.Worker, ("BUILDFARM_DISCOVERY", "kubernetes"), ("BUILDFARM_SEEDS", "10.0.0.1:8750")));

        Assert.Contains("not both", error.Message);
    }

    [Theory]
    [InlineData("BUILDFARM_DISCOVERY", "dns", "expected seeds, config or kubernetes")]
    [InlineData("BUILDFARM_CONTACT_POINTS", "10.0.0.1", "contact point 10.0.0.1: expected HOST:PORT")]
    public void A_bad_bootstrap_value_is_refused_naming_it(string name, string value, string expected)
    {
        var error = Assert.Throws<SettingsException>(() => Load(HostRole.Coordinator, ("BUILDFARM_DISCOVERY", "config"), (name, value)));

        Assert.Contains($"{name}={value}", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Bootstrap_settings_without_bootstrap_are_refused()
    {
        var error = Assert.Throws<SettingsException>(() => Load(HostRole.Coordinator, ("BUILDFARM_CONTACT_POINTS", "10.0.0.1:8558")));

        Assert.Contains("only used with cluster bootstrap", error.Message);
    }
}
