using System.Collections;
using System.Text.RegularExpressions;
using BuildFarm.Cli;
using BuildFarm.Cli.Hosting;
using YamlDotNet.RepresentationModel;

namespace BuildFarm.Tests.Deploy;

/// <summary>
/// Issue #14: deploy/compose/docker-compose.yml names what the hosts and images accept: each service's environment
/// (over its image's ENV) goes through the hosts' own settings loader; ports, seeds and volumes are checked against it.
/// </summary>
public sealed partial class ComposeFileTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("bf-compose-").FullName;
    private readonly YamlMappingNode _services;

    public ComposeFileTests()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(DeployFolder.Path("compose", "docker-compose.yml"))));
        _services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public void The_coordinator_publishes_its_api_port_and_is_the_workers_seed()
    {
        var coordinator = Service("coordinator");
        var settings = Settings("coordinator", HostRole.Coordinator);

        var published = Sequence(coordinator, "ports").Single();
        Assert.EndsWith($":{settings.Listen.Port}", published);
        Assert.Equal("coordinator", settings.PublicHostname);
        foreach (var worker in new[] { "worker-1", "worker-2" })
        {
            var seeds = Settings(worker, HostRole.Worker).Seeds;
            Assert.Equal([$"akka.ssl.tcp://buildfarm@{settings.PublicHostname}:{settings.RemotingPort}"], seeds.Select(s => s.Replace("akka.tcp://", "akka.ssl.tcp://")).ToList());
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Init_writes_a_private_tokens_file_the_coordinator_accepts()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_home, "compose")).FullName;
        File.Copy(DeployFolder.Path("compose", "init.sh"), Path.Combine(folder, "init.sh"));
        var start = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(folder, "init.sh")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using (var init = System.Diagnostics.Process.Start(start)!)
        {
            var stderr = init.StandardError.ReadToEndAsync();
            await init.StandardOutput.ReadToEndAsync();
            await init.WaitForExitAsync();
            Assert.True(init.ExitCode == 0, await stderr);
        }

        var tokens = Path.Combine(folder, "tokens");
        var table = BuildFarm.Coordinator.Api.Identity.TokenTable.Parse(File.ReadAllText(tokens), tokens);
        Assert.Equal(2, table.Count);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokens));
        Assert.NotNull(Settings("coordinator", HostRole.Coordinator).TokensFile);
    }

    [Theory]
    [InlineData("coordinator", HostRole.Coordinator)]
    [InlineData("worker-1", HostRole.Worker)]
    public void Every_node_serves_prometheus_metrics(string service, HostRole role)
    {
        Assert.NotNull(Settings(service, role).MetricsListen);
    }

    [Theory]
    [InlineData("worker-1")]
    [InlineData("worker-2")]
    public void Each_worker_has_its_own_name_and_its_home_on_a_volume(string name)
    {
        var worker = Service(name);
        var settings = Settings(name, HostRole.Worker);

        Assert.Equal(name, settings.PublicHostname);
        Assert.Equal("buildfarm/worker", Scalar(worker, "image").Split(':')[0]);
        var home = ImageEnv("worker")["BUILDFARM_HOME"];
        Assert.Contains($"{name}:{home}", Sequence(worker, "volumes"));
        Assert.Contains(name, ((YamlMappingNode)((YamlMappingNode)((YamlStream)Load()).Documents[0].RootNode)["volumes"]).Children.Keys.Select(k => k.ToString()));
    }

    private FarmSettings Settings(string service, HostRole role)
    {
        var table = new Hashtable();
        foreach (var (name, value) in ImageEnv(role == HostRole.Coordinator ? "coordinator" : "worker")) table[name] = value;
        foreach (var (name, value) in Merged((YamlMappingNode)Service(service)["environment"]))
        {
            // ${VAR:-default} takes its default; ${VAR:?message} (from .env) a stand-in
            table[name] = Interpolation().Replace(value.ToString(), m => m.Groups[2].Success && m.Groups[1].Value == "-" ? m.Groups[2].Value : "from-env");
            Assert.True(!name.StartsWith(FarmSettingsLoader.EnvironmentPrefix, StringComparison.Ordinal)
                        || FarmSettingsLoader.Keys.Contains(name[FarmSettingsLoader.EnvironmentPrefix.Length..].ToLowerInvariant().Replace('_', '-'))
                        || name is "BUILDFARM_CACHE" or "BUILDFARM_REMOTING_CERT",
                $"{service}: {name} is not a variable the host reads");
        }
        table["BUILDFARM_HOME"] = _home;
        if (table["BUILDFARM_TOKENS"] is string tokens)
        {
            // init.sh writes ./tokens beside the compose file: the host opens a stand-in where the bind mount would be
            Assert.Contains($"./tokens:{tokens}:ro", Sequence(Service(service), "volumes"));
            var standIn = Path.Combine(_home, "tokens");
            File.WriteAllText(standIn, "0123456789abcdef0123456789abcdef dev\n");
            table["BUILDFARM_TOKENS"] = standIn;
        }
        var environment = CliEnvironment.From(table);
        Assert.Equal(BuildFarm.Cache.ContentStoreKind.S3, environment.Store.Kind);
        Assert.Contains(((string)table["BUILDFARM_REMOTING_CERT"]!), Sequence(Service(service), "volumes").Single(v => v.EndsWith(":ro", StringComparison.Ordinal) && v.Contains("farm.p12")));
        return FarmSettingsLoader.Load(environment, role, new Dictionary<string, string>(), configFile: null);
    }

    private static YamlStream Load()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(DeployFolder.Path("compose", "docker-compose.yml"))));
        return yaml;
    }

    private Dictionary<string, YamlNode> Service(string name) => Merged((YamlMappingNode)_services[name]);

    // A mapping with its YAML merge keys (<<: *anchor) applied, as compose reads it: own keys win.
    private static Dictionary<string, YamlNode> Merged(YamlMappingNode node)
    {
        var merged = new Dictionary<string, YamlNode>();
        if (node.Children.TryGetValue(new YamlScalarNode("<<"), out var inherited))
            foreach (var (key, value) in Merged((YamlMappingNode)inherited)) merged[key] = value;
        foreach (var (key, value) in node.Children.Where(c => c.Key.ToString() != "<<")) merged[key.ToString()] = value;
        return merged;
    }

    private static string Scalar(Dictionary<string, YamlNode> node, string key) => node[key].ToString();

    private static List<string> Sequence(Dictionary<string, YamlNode> node, string key) => [.. ((YamlSequenceNode)node[key]).Children.Select(c => c.ToString())];

    private static Dictionary<string, string> ImageEnv(string image) =>
        EnvPair().Matches(File.ReadAllText(DeployFolder.Path("images", image, "Dockerfile"))).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [GeneratedRegex(@"\b(BUILDFARM_[A-Z_]+)=(\S+)")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"\$\{[A-Z_]+(?::([-?])([^}]*))?\}")]
    private static partial Regex Interpolation();
}
