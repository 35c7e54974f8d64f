using System.Text.Json.Nodes;

namespace BuildFarm.Worker.Execution;

/// <summary>Builds an OCI runtime-spec config.json for a build step (like BuildKit's oci.GenerateSpec).</summary>
internal static class RuntimeConfig
{
    // Docker's default capability set: what a RUN step may do as root.
    private static readonly string[] Capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    // Every capability this kernel generation knows, by number (0..40): RUN --security=insecure, as docker's --privileged.
    private static readonly string[] AllCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    private const long CpuPeriodMicroseconds = 100_000;

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>The config of one step: contained (default caps, seccomp, no new privileges, masked /proc paths,
    /// cgroup limits under <paramref name="cgroupsPath"/>, else runc's default path) unless <see cref="ContainerSpec.Privileged"/>.</summary>
    public static JsonObject Build(ContainerSpec spec, ContainerLimits? limits = null, string? cgroupsPath = null)
    {
        limits ??= spec.Limits ?? ContainerLimits.Default;
        var granted = spec.Privileged ? WorkerBoundingCapabilities() : Capabilities;
        var caps = Strings(granted);
        var process = new JsonObject
        {
            ["terminal"] = false,
            ["user"] = new JsonObject
            {
                ["uid"] = spec.User.Uid,
                ["gid"] = spec.User.Gid,
                ["additionalGids"] = new JsonArray(spec.User.AdditionalGids.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
            },
            ["args"] = Strings(spec.Args),
            ["env"] = Strings(spec.Env),
            ["cwd"] = spec.WorkingDirectory,
            ["capabilities"] = new JsonObject
            {
                ["bounding"] = caps.DeepClone(), ["effective"] = caps.DeepClone(), ["permitted"] = caps.DeepClone(),
            },
            // without --ulimit the step inherits the worker's rlimits
            // setuid binaries and file capabilities cannot raise a contained step above what it starts with
            ["noNewPrivileges"] = !spec.Privileged,
        };
        if (spec.Rlimits.Count > 0)
        {
            process["rlimits"] = new JsonArray(spec.Rlimits.Select(r => (JsonNode)new JsonObject
            {
                ["type"] = r.Type,
                ["hard"] = ContainerRlimit.OciValue(r.Hard),
                ["soft"] = ContainerRlimit.OciValue(r.Soft),
            }).ToArray());
        }
        var shmSize = spec.ShmSize > 0 ? spec.ShmSize.ToString(System.Globalization.CultureInfo.InvariantCulture) : "65536k";

        var mounts = new JsonArray
        {
            Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=" + shmSize),
            Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            // sysfs needs its own network namespace; with the host's network, bind the host's /sys read-only
            spec.HostNetwork
                ? Mount("/sys", "bind", "/sys", "rbind", "nosuid", "noexec", "nodev", "ro")
                : Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", spec.Privileged ? "rw" : "ro"),
        };
        foreach (var m in spec.Mounts) mounts.Add(Mount(m.Destination, m.Type, m.Source, m.Options.ToArray()));

        var namespaces = new JsonArray
        {
            new JsonObject { ["type"] = "pid" }, new JsonObject { ["type"] = "ipc" },
            new JsonObject { ["type"] = "uts" }, new JsonObject { ["type"] = "mount" },
        };
        if (!spec.HostNetwork) namespaces.Add(new JsonObject { ["type"] = "network" });

        var linux = new JsonObject
        {
            ["namespaces"] = namespaces,
            ["resources"] = Resources(limits, spec.Privileged),
        };
        if (cgroupsPath is not null) linux["cgroupsPath"] = cgroupsPath;
        if (!spec.Privileged)
        {
            linux["maskedPaths"] = Strings(MaskedPaths);
            linux["readonlyPaths"] = Strings(ReadonlyPaths);
            linux["seccomp"] = SeccompProfile.Build(Capabilities);
        }

        return new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = spec.Rootfs, ["readonly"] = false },
            ["hostname"] = spec.Hostname,
            ["mounts"] = mounts,
            ["linux"] = linux,
        };
    }

    /// <summary>All capabilities this worker itself may hold (its bounding set): runc refuses to grant more, e.g. when the
    /// worker runs in a container without CAP_SYS_RESOURCE.</summary>
    private static string[] WorkerBoundingCapabilities()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
        if (line is null || !ulong.TryParse(line["CapBnd:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, null, out var bounding))
            return AllCapabilities;
        return AllCapabilities.Where((_, bit) => (bounding & (1UL << bit)) != 0).ToArray();
    }

    /// <summary>linux.resources: runc creates the step's cgroups with these limits (cgroup v1 or v2) and removes them on delete.</summary>
    private static JsonObject Resources(ContainerLimits limits, bool privileged)
    {
        var resources = new JsonObject
        {
            // privileged steps may open any device node they create; contained ones none beyond runc's defaults
            ["devices"] = new JsonArray(new JsonObject { ["allow"] = privileged, ["access"] = "rwm" }),
        };
        if (limits.Pids is { } pids) resources["pids"] = new JsonObject { ["limit"] = pids };
        if (limits.MemoryBytes is { } memory) resources["memory"] = new JsonObject { ["limit"] = memory };
        if (limits.Cpus is { } cpus)
            resources["cpu"] = new JsonObject { ["quota"] = (long)Math.Ceiling(cpus * CpuPeriodMicroseconds), ["period"] = CpuPeriodMicroseconds };
        return resources;
    }

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = Strings(options),
    };

    private static JsonArray Strings(IEnumerable<string> values) =>
        new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
}
