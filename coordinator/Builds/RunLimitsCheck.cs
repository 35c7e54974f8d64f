using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Builds;

/// <summary>A build's asked RUN limits, checked when the build arrives (a hand-written client may send anything), so a
/// bad value fails the build once, naming the limit, rather than every RUN step on a worker.</summary>
public static class RunLimitsCheck
{
    private const long MinimumMemory = 4 * 1024 * 1024; // what a step needs to start (the worker's floor too)

    /// <summary>Null when every given limit makes sense; else the problem, in the CLI flag's words.</summary>
    public static string? Problem(RunLimits? limits)
    {
        if (limits is null) return null;
        if (limits.HasPids && limits.Pids <= 0) return $"--run-pids-limit {limits.Pids}: expected a positive number of processes";
        if (limits.HasMemoryBytes && limits.MemoryBytes < MinimumMemory)
            return $"--run-memory {limits.MemoryBytes}: memory limit {limits.MemoryBytes} bytes is below the 4 MiB a step needs to start";
        if (limits.HasCpus && (double.IsNaN(limits.Cpus) || double.IsInfinity(limits.Cpus) || limits.Cpus < 0.01))
            return $"--run-cpus {limits.Cpus}: expected a number of cores from 0.01";
        return null;
    }
}
