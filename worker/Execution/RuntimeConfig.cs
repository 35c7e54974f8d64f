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

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    public static JsonObject Build(ContainerSpec spec)
    {
        var caps = new JsonArray(Capabilities.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray());
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
            // no rlimits: the step inherits the worker's (raising them above its own hard limit is refused)
            ["noNewPrivileges"] = false,
        };

        var mounts = new JsonArray
        {
            Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
            Mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            // sysfs needs its own network namespace; with the host's network, bind the host's /sys read-only
            spec.HostNetwork
                ? Mount("/sys", "bind", "/sys", "rbind", "nosuid", "noexec", "nodev", "ro")
                : Mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
        };
        foreach (var m in spec.Mounts) mounts.Add(Mount(m.Destination, m.Type, m.Source, m.Options.ToArray()));

        var namespaces = new JsonArray
        {
            new JsonObject { ["type"] = "pid" }, new JsonObject { ["type"] = "ipc" },
            new JsonObject { ["type"] = "uts" }, new JsonObject { ["type"] = "mount" },
        };
        if (!spec.HostNetwork) namespaces.Add(new JsonObject { ["type"] = "network" });

        return new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = spec.Rootfs, ["readonly"] = false },
            ["hostname"] = spec.Hostname,
            ["mounts"] = mounts,
            ["linux"] = new JsonObject
            {
                ["namespaces"] = namespaces,
                ["resources"] = new JsonObject
                {
                    ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
                },
                ["maskedPaths"] = Strings(MaskedPaths),
                ["readonlyPaths"] = Strings(ReadonlyPaths),
            },
        };
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
