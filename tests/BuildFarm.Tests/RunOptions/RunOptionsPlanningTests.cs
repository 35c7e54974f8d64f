using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.RunOptions;

/// <summary>How the build's run options reach RUN steps and their keys: as BuildKit's ExecOp (network, extra host names, shm
/// size and ulimits are part of the op it hashes; its cache map clears the extra hosts' IPs).</summary>
public sealed class RunOptionsPlanningTests
{
    private static PlannedStep Run(string dockerfile, Coordinator.Planning.RunOptions run) =>
        DockerfilePlanner.Plan(dockerfile, new PlanOptions { Run = run }).Steps.Single(s => s.Kind == StepKind.Run);

    private const string OneRun = "FROM scratch\nRUN true\n";

    [Fact]
    public void Build_network_is_the_default_of_a_RUN_and_part_of_its_key()
    {
        var none = Run(OneRun, new() { Network = RunNetwork.None });

        Assert.Equal("none", none.Flags["network"]);
        Assert.Equal(RunNetwork.None, ((RunInstruction)none.Expanded!).Network);
        Assert.False(Run(OneRun, Coordinator.Planning.RunOptions.Default).Flags.ContainsKey("network"));
    }

    [Fact]
    public void RUN_network_flag_wins_over_the_build_network()
    {
        var step = Run("FROM scratch\nRUN --network=none true\n", new() { Network = RunNetwork.Host });

        Assert.Equal(RunNetwork.None, ((RunInstruction)step.Expanded!).Network);
    }

    [Fact]
    public void Extra_host_names_are_in_the_key_but_not_their_ips()
    {
        var first = Run(OneRun, new() { ExtraHosts = [new("db", "10.0.0.1")] });
        var moved = Run(OneRun, new() { ExtraHosts = [new("db", "10.0.0.2")] });
        var renamed = Run(OneRun, new() { ExtraHosts = [new("cache", "10.0.0.1")] });

        Assert.Equal(first.Flags, moved.Flags);
        Assert.NotEqual(first.Flags["add-host"], renamed.Flags["add-host"]);
    }

    [Fact]
    public void Shm_size_and_ulimits_are_in_the_key()
    {
        var step = Run(OneRun, new() { ShmSize = 128 << 20, Ulimits = [new("nofile", 1024, 2048)] });

        Assert.Equal("134217728", step.Flags["shm-size"]);
        Assert.Equal("[\"nofile=1024:2048\"]", step.Flags["ulimit"]);
    }

    [Fact]
    public void Host_network_needs_the_network_host_entitlement_from_the_build_and_the_server()
    {
        var plan = DockerfilePlanner.Plan(OneRun, new PlanOptions { Run = new() { Network = RunNetwork.Host } });

        Assert.Equal("network.host is not allowed (RUN --network=host runs only in a build granted it: --allow network.host)",
            Entitlements.FirstDenied(plan, [], Entitlements.Known)?.Error);
        Assert.Equal("network.host is not allowed by this server (start it with --allow-insecure-entitlement network.host)",
            Entitlements.FirstDenied(plan, [Entitlements.NetworkHost], [])?.Error);
        Assert.Null(Entitlements.FirstDenied(plan, [Entitlements.NetworkHost], Entitlements.Known));
    }
}
