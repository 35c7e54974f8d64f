using System.Text.Json.Nodes;
using BuildFarm.Worker.Execution;

namespace BuildFarm.Tests.Worker;

public sealed class RuntimeConfigTests
{
    private static JsonObject Build(bool hostNetwork) => RuntimeConfig.Build(new ContainerSpec
    {
        Rootfs = "/rootfs", Args = ["/bin/sh", "-c", "true"], Env = ["A=1"], WorkingDirectory = "/w",
        User = new ResolvedUser(1000, 1001, [50], "/home/app"), HostNetwork = hostNetwork,
        Mounts = [new ContainerMount("/etc/hosts", "bind", "/gen/hosts", ["rbind", "ro"])],
    });

    private static IEnumerable<string> Namespaces(JsonObject config) =>
        config["linux"]!["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>());

    [Fact]
    public void Step_gets_its_own_network_namespace_by_default() =>
        Assert.Equal(["pid", "ipc", "uts", "mount", "network"], Namespaces(Build(hostNetwork: false)));

    [Fact]
    public void Host_network_shares_the_worker_network() =>
        Assert.DoesNotContain("network", Namespaces(Build(hostNetwork: true)));

    [Fact]
    public void Process_runs_as_the_resolved_user_without_a_terminal()
    {
        var process = Build(false)["process"]!;
        Assert.False(process["terminal"]!.GetValue<bool>());
        Assert.Equal(1000, process["user"]!["uid"]!.GetValue<int>());
        Assert.Equal(1001, process["user"]!["gid"]!.GetValue<int>());
        Assert.Equal([50], process["user"]!["additionalGids"]!.AsArray().Select(g => g!.GetValue<int>()));
        Assert.Equal("/w", process["cwd"]!.GetValue<string>());
    }

    [Fact]
    public void Sys_is_read_only_and_extra_mounts_come_last()
    {
        var mounts = Build(false)["mounts"]!.AsArray();
        var sys = mounts.Single(m => m!["destination"]!.GetValue<string>() == "/sys")!;
        Assert.Contains("ro", sys["options"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("/etc/hosts", mounts[^1]!["destination"]!.GetValue<string>());
    }
}
