using System.Collections;
using BuildFarm.Cli;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Tests.Cli;

public sealed class FarmSettingsLoaderTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("bf-settings-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private CliEnvironment Environment(params (string Name, string Value)[] variables)
    {
        var table = new Hashtable { ["BUILDFARM_HOME"] = _home };
        foreach (var (name, value) in variables) table[name] = value;
        return CliEnvironment.From(table);
    }

    private static FarmSettings Load(CliEnvironment environment, HostRole role, Dictionary<string, string>? flags = null, string? config = null) =>
        FarmSettingsLoader.Load(environment, role, flags ?? [], config);

    [Fact]
    public void Defaults_follow_the_role()
    {
        var coordinator = Load(Environment(), HostRole.Coordinator);
        var worker = Load(Environment(), HostRole.Worker);

        Assert.Equal(("127.0.0.1:8740", 8750, 30.0), (coordinator.Listen.ToString(), coordinator.RemotingPort, coordinator.JoinTimeout.TotalSeconds));
        Assert.Empty(coordinator.Seeds);
        Assert.Equal((0, "127.0.0.1:0"), (worker.RemotingPort, worker.HealthListen.ToString()));
        Assert.InRange(worker.Slots, BuildFarm.Worker.Capacity.WorkerCapacity.MinimumSlots, BuildFarm.Worker.Capacity.WorkerCapacity.MaximumSlots);
    }

    [Fact]
    public void Flags_win_over_the_environment_which_wins_over_the_config_file()
    {
        var file = Path.Combine(_home, "farm.json");
        File.WriteAllText(file, """{ "slots": 2, "join-timeout": 7, "seeds": ["10.0.0.1:8750", "akka.tcp://buildfarm@10.0.0.2:8750"] }""");
        var environment = Environment(("BUILDFARM_SLOTS", "3"), ("BUILDFARM_JOIN_TIMEOUT", "9"));

        var settings = Load(environment, HostRole.Worker, new() { ["slots"] = "4" });

        Assert.Equal(4, settings.Slots);
        Assert.Equal(TimeSpan.FromSeconds(9), settings.JoinTimeout);
        Assert.Equal(["akka.ssl.tcp://buildfarm@10.0.0.1:8750", "akka.ssl.tcp://buildfarm@10.0.0.2:8750"], settings.Seeds);
    }

    [Fact]
    public void Seeds_come_from_BUILDFARM_SEEDS_as_a_comma_separated_list()
    {
        var settings = Load(Environment(("BUILDFARM_SEEDS", "127.0.0.1:8750, akka.ssl.tcp://buildfarm@host-b:8751")), HostRole.Worker);

        Assert.Equal(["akka.ssl.tcp://buildfarm@127.0.0.1:8750", "akka.ssl.tcp://buildfarm@host-b:8751"], settings.Seeds);
    }

    [Theory]
    [InlineData("slots", "0", "--slots 0: expected a number of slots from 1 to 1024")]
    [InlineData("remoting-port", "70000", "--remoting-port 70000: expected a port from 0 to 65535")]
    [InlineData("listen", "localhost:80", "--listen localhost:80: expected IP:PORT")]
    [InlineData("seeds", "10.0.0.1", "--seeds 10.0.0.1: expected HOST:PORT")]
    [InlineData("seeds", "akka.tcp://other@10.0.0.1:8750", "the farm's actor system is named buildfarm, not other")]
    [InlineData("join-timeout", "-1", "--join-timeout -1: expected a number of seconds")]
    [InlineData("worker-cache-mb", "0", "--worker-cache-mb 0: expected a positive number of MiB")]
    public void A_bad_flag_is_one_line_naming_the_flag_and_value(string key, string value, string expected)
    {
        var error = Assert.Throws<SettingsException>(() => Load(Environment(), HostRole.Both, new() { [key] = value }));

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_bad_environment_value_names_the_variable()
    {
        var error = Assert.Throws<SettingsException>(() => Load(Environment(("BUILDFARM_SEEDS", "10.0.0.1:0")), HostRole.Worker));

        Assert.StartsWith("BUILDFARM_SEEDS=10.0.0.1:0: port 0: expected a port from 1 to 65535", error.Message);
    }

    [Fact]
    public void A_bad_config_file_value_names_the_file_and_key()
    {
        var file = Path.Combine(_home, "other.json");
        File.WriteAllText(file, """{ "slots": "many" }""");

        var error = Assert.Throws<SettingsException>(() => Load(Environment(), HostRole.Worker, config: file));

        Assert.StartsWith($"{file}: slots many: expected a number of slots", error.Message);
    }

    [Fact]
    public void An_unknown_key_in_the_config_file_is_refused_naming_it()
    {
        File.WriteAllText(Path.Combine(_home, "farm.json"), """{ "slot": 2 }""");

        var error = Assert.Throws<SettingsException>(() => Load(Environment(), HostRole.Worker));

        Assert.Contains("unknown setting \"slot\"", error.Message);
    }

    [Fact]
    public void A_config_file_that_is_not_json_is_refused_naming_it()
    {
        var file = Path.Combine(_home, "broken.json");
        File.WriteAllText(file, "slots = 2");

        var error = Assert.Throws<SettingsException>(() => Load(Environment(), HostRole.Worker, config: file));

        Assert.StartsWith($"{file}: not a JSON object of settings", error.Message);
    }

    [Fact]
    public void A_missing_config_file_given_by_flag_is_refused()
    {
        var error = Assert.Throws<SettingsException>(() => Load(Environment(), HostRole.Worker, config: "/nonexistent/farm.json"));

        Assert.Equal("--config /nonexistent/farm.json: no such file", error.Message);
    }
}
