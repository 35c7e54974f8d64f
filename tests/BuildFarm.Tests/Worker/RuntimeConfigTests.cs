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

    private static JsonObject Contained(ContainerLimits? limits = null, bool privileged = false) => RuntimeConfig.Build(
        new ContainerSpec { Rootfs = "/rootfs", Args = ["/bin/sh"], Privileged = privileged }, limits, "/buildfarm/bf-1-abc");

    private static IEnumerable<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>());

    [Fact]
    public void Contained_step_gets_seccomp_with_errno_default_and_no_new_privileges()
    {
        var config = Contained();

        Assert.True(config["process"]!["noNewPrivileges"]!.GetValue<bool>());
        var seccomp = config["linux"]!["seccomp"]!;
        Assert.Equal("SCMP_ACT_ERRNO", seccomp["defaultAction"]!.GetValue<string>());
        var allowed = seccomp["syscalls"]!.AsArray().Where(r => r!["action"]!.GetValue<string>() == "SCMP_ACT_ALLOW" && r["args"]!.AsArray().Count == 0)
            .SelectMany(r => Strings(r!["names"])).ToHashSet();
        Assert.Contains("execve", allowed);
        Assert.Contains("chroot", allowed); // CAP_SYS_CHROOT is a default capability
        Assert.DoesNotContain("mount", allowed);
        Assert.DoesNotContain("unshare", allowed);
        Assert.DoesNotContain("clone", allowed); // only without namespace flags (an argument rule)
    }

    [Fact]
    public void Contained_step_masks_and_write_protects_proc_paths()
    {
        var linux = Contained()["linux"]!;

        Assert.Contains("/proc/kcore", Strings(linux["maskedPaths"]));
        Assert.Contains("/sys/firmware", Strings(linux["maskedPaths"]));
        Assert.Contains("/proc/sys", Strings(linux["readonlyPaths"]));
        Assert.Contains("/proc/sysrq-trigger", Strings(linux["readonlyPaths"]));
    }

    [Fact]
    public void Limits_become_cgroup_resources_under_the_given_path()
    {
        var linux = Contained(new ContainerLimits { Pids = 100, MemoryBytes = 256L << 20, Cpus = 1.5 })["linux"]!;

        Assert.Equal("/buildfarm/bf-1-abc", linux["cgroupsPath"]!.GetValue<string>());
        Assert.Equal(100, linux["resources"]!["pids"]!["limit"]!.GetValue<long>());
        Assert.Equal(256L << 20, linux["resources"]!["memory"]!["limit"]!.GetValue<long>());
        Assert.Equal(150_000, linux["resources"]!["cpu"]!["quota"]!.GetValue<long>());
        Assert.Equal(100_000, linux["resources"]!["cpu"]!["period"]!.GetValue<long>());
    }

    [Fact]
    public void Unset_limits_leave_memory_and_cpu_unlimited()
    {
        var resources = Contained(new ContainerLimits { Pids = null })["linux"]!["resources"]!.AsObject();

        Assert.False(resources.ContainsKey("pids"));
        Assert.False(resources.ContainsKey("memory"));
        Assert.False(resources.ContainsKey("cpu"));
    }

    [Fact]
    public void Privileged_step_has_no_seccomp_no_masks_and_more_than_the_default_caps()
    {
        var config = Contained(privileged: true);

        Assert.Null(config["linux"]!["seccomp"]);
        Assert.Null(config["linux"]!["maskedPaths"]);
        Assert.False(config["process"]!["noNewPrivileges"]!.GetValue<bool>());
        Assert.Contains("CAP_SYS_ADMIN", Strings(config["process"]!["capabilities"]!["bounding"]));
    }

    [Fact]
    public void Zero_pids_limit_is_refused_naming_it() =>
        Assert.Contains("pids limit 0", Assert.Throws<ArgumentException>(() => new ContainerLimits { Pids = 0 }.Validated()).Message);

    [Fact]
    public void Shm_size_sets_the_dev_shm_tmpfs_size_and_ulimits_become_rlimits()
    {
        var config = RuntimeConfig.Build(new ContainerSpec
        {
            Rootfs = "/rootfs", Args = ["/bin/sh"], ShmSize = 128 << 20,
            Rlimits = [ContainerRlimit.FromUlimit("nofile", 1024, 2048), ContainerRlimit.FromUlimit("core", -1, -1)],
        });

        var shm = config["mounts"]!.AsArray().Single(m => m!["destination"]!.GetValue<string>() == "/dev/shm")!;
        Assert.Contains("size=134217728", Strings(shm["options"]));
        var rlimits = config["process"]!["rlimits"]!.AsArray();
        Assert.Equal(("RLIMIT_NOFILE", 1024UL, 2048UL), (rlimits[0]!["type"]!.GetValue<string>(), rlimits[0]!["soft"]!.GetValue<ulong>(), rlimits[0]!["hard"]!.GetValue<ulong>()));
        Assert.Equal(ulong.MaxValue, rlimits[1]!["hard"]!.GetValue<ulong>());
    }

    [Fact]
    public void Without_ulimits_the_step_inherits_the_workers_rlimits_and_default_shm()
    {
        var config = Contained();

        Assert.Null(config["process"]!["rlimits"]);
        var shm = config["mounts"]!.AsArray().Single(m => m!["destination"]!.GetValue<string>() == "/dev/shm")!;
        Assert.Contains("size=65536k", Strings(shm["options"]));
    }
}
