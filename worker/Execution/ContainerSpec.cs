namespace BuildFarm.Worker.Execution;

/// <summary>Everything one container run needs; the executor adds the standard /proc, /dev, /sys mounts.</summary>
public sealed record ContainerSpec
{
    public required string Rootfs { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDirectory { get; init; } = "/";
    public ResolvedUser User { get; init; } = ResolvedUser.Root;
    public bool HostNetwork { get; init; }
    public string Hostname { get; init; } = "buildkitsandbox";
    /// <summary>Extra mounts (RUN --mount, /etc/hosts, /etc/resolv.conf), applied after the standard ones.</summary>
    public IReadOnlyList<ContainerMount> Mounts { get; init; } = [];
    /// <summary>RUN --security=insecure: all capabilities, no seccomp, no masked paths (only with the entitlement).</summary>
    public bool Privileged { get; init; }
    /// <summary>The cgroup limits the step's build asks for; the executor's (<see cref="RuncOptions.Limits"/>) are the
    /// ceiling (<see cref="ContainerLimits.Clamp"/>); null takes the executor's.</summary>
    public ContainerLimits? Limits { get; init; }

    /// <summary>Size of /dev/shm in bytes (--shm-size); 0 = 64 MiB, as runc's and docker's default.</summary>
    public long ShmSize { get; init; }

    /// <summary>The process's rlimits (--ulimit); none = the worker's own are inherited.</summary>
    public IReadOnlyList<ContainerRlimit> Rlimits { get; init; } = [];
}
