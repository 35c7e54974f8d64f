namespace BuildFarm.Worker.Execution;

/// <summary>cgroup limits of one RUN step (runc creates the cgroups from <c>linux.resources</c>); null means unlimited.</summary>
public sealed record ContainerLimits
{
    /// <summary>Most processes and threads the step may have at once: a fork bomb stops here.</summary>
    public long? Pids { get; init; } = 4096;

    /// <summary>Most memory (bytes) the step may use; above it the kernel's OOM killer ends the step.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>CPU time as a number of cores (1.5 = one and a half cores' worth per period).</summary>
    public double? Cpus { get; init; }

    public static ContainerLimits Default { get; } = new();

    /// <summary>This worker's limits (the ceiling) with a build's asks applied: each limit the build gives is kept when it
    /// is lower, never raised above the worker's; one it leaves out (null) stays the worker's.</summary>
    public ContainerLimits Clamp(ContainerLimits? asked) => asked is null ? this : new ContainerLimits
    {
        Pids = Lower(Pids, asked.Pids),
        MemoryBytes = Lower(MemoryBytes, asked.MemoryBytes),
        Cpus = Lower(Cpus, asked.Cpus),
    };

    // null is unlimited: any given limit is lower
    private static T? Lower<T>(T? ceiling, T? asked) where T : struct, IComparable<T> =>
        asked is not { } a ? ceiling : ceiling is not { } c ? a : a.CompareTo(c) < 0 ? a : c;

    /// <summary>Throws naming the limit when one makes no sense (a zero limit would stop every step).</summary>
    public ContainerLimits Validated()
    {
        if (Pids is <= 0) throw new ArgumentException($"pids limit {Pids} must be positive");
        if (MemoryBytes is < 4 * 1024 * 1024) throw new ArgumentException($"memory limit {MemoryBytes} bytes is below the 4 MiB a step needs to start");
        if (Cpus is { } c && (c < 0.01 || double.IsNaN(c) || double.IsInfinity(c))) throw new ArgumentException($"cpu limit {c} must be at least 0.01");
        return this;
    }
}
