using System.Text;
using System.Text.Json;
using BuildFarm.Cli.Engine;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// The resident engine runs each build with its client's environment where it matters (issue 16): registry logins come
/// from the DOCKER_CONFIG of the client that asked for the build, not of the one whose build started the engine. The
/// registry is a real one behind htpasswd; the engine is a real resident engine of this test's home, stopped at the end.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ResidentEngineClientEnvironmentTests(BusyboxFixture busybox, RegistryBasicAuthFixture registry, NativeClientFixture native)
    : IClassFixture<RegistryBasicAuthFixture>, IClassFixture<NativeClientFixture>, IAsyncLifetime
{
    private const string Version = "client-environment-test";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    private string DockerConfig(string name, string user, string password)
    {
        var dir = Path.Combine(_scratch.Root, name);
        Directory.CreateDirectory(dir);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        File.WriteAllText(Path.Combine(dir, "config.json"),
            JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [registry.Host] = new { auth } } }));
        return dir;
    }

    private BuildFarmCli Managed(string dockerConfig) => new(_scratch.Home)
    {
        Environment =
        {
            ["BUILDFARM_ENGINE"] = "resident",
            ["BUILDFARM_VERSION_OVERRIDE"] = Version,
            ["DOCKER_CONFIG"] = dockerConfig,
        },
    };

    private BuildFarmCli Native(string dockerConfig) => new(_scratch.Home)
    {
        Executable = native.BinaryPath,
        Environment =
        {
            ["BUILDFARM_MANAGED_CLI"] = BuildFarmCli.CommandPath,
            ["BUILDFARM_CLIENT_TRACE"] = "1",
            ["BUILDFARM_VERSION_OVERRIDE"] = Version,
            ["DOCKER_CONFIG"] = dockerConfig,
        },
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            var record = EngineRecord.Read(Path.Combine(_scratch.Home, "engine.json"));
            await new BuildFarmCli(_scratch.Home).RunAsync("serve", "--stop");
            if (record is not null)
            {
                EngineProcess.KillNow(record.Pid);
                await EngineProcess.WaitForExitAsync(record.Pid, TimeSpan.FromSeconds(10), CancellationToken.None);
            }
        }
        finally
        {
            _scratch.Dispose();
        }
    }

    [Fact]
    public async Task Each_build_pulls_and_pushes_with_its_own_clients_docker_config()
    {
        var right = DockerConfig("docker-right", registry.Username!, registry.Password!);
        var wrong = DockerConfig("docker-wrong", registry.Username!, "not-" + registry.Password);
        var privateBase = $"{registry.Host}/client-env/base:1";
        var pushed = await new BuildFarmCli(Path.Combine(_scratch.Root, "embedded-home")) { Environment = { ["DOCKER_CONFIG"] = right } }
            .BuildAsync("--push", "-t", privateBase, _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\n"));
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        var fromPrivate = _scratch.Context("app", $"FROM {privateBase}\nRUN echo pulled > /pulled\n");

        // The engine starts from a client whose docker config has no login for the registry: its own build is refused...
        var none = Directory.CreateDirectory(Path.Combine(_scratch.Root, "docker-none")).FullName;
        var starter = await Managed(none).BuildAsync(fromPrivate);
        var engine = EngineRecord.Read(Path.Combine(_scratch.Home, "engine.json"));
        Assert.NotNull(engine);
        Assert.NotEqual(0, starter.ExitCode);
        Assert.Contains("none are configured", starter.Stderr);

        // ...the same engine pulls and pushes for the native client whose docker config is right...
        var viaNative = await Native(right).BuildAsync("--push", "-t", $"{registry.Host}/client-env/app:native", fromPrivate);
        Assert.True(viaNative.ExitCode == 0, viaNative.ToString());
        Assert.Contains("buildfarm-client: native build through unix:", viaNative.Stderr);
        Assert.Contains("pushing sha256:", viaNative.Stderr);

        // ...and pushes with the wrong password of the managed client that asks next (not the right one it just used).
        var viaManaged = await Managed(wrong).BuildAsync("--push", "-t", $"{registry.Host}/client-env/app:managed", fromPrivate);
        Assert.NotEqual(0, viaManaged.ExitCode);
        Assert.Contains("rejected the credentials", viaManaged.Stderr);
        Assert.Equal(engine.Pid, EngineRecord.Read(Path.Combine(_scratch.Home, "engine.json"))?.Pid);
        var inspected = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false",
            "--creds", $"{registry.Username}:{registry.Password}", $"docker://{registry.Host}/client-env/app:native");
        Assert.Contains("\"Digest\": \"sha256:", inspected);
    }
}
