using BuildFarm.Protos.V1;

namespace BuildFarm.Worker.Execution;

/// <summary>The protobuf <see cref="RunLimits"/> a build sends with its steps, as the <see cref="ContainerLimits"/> it asks for.</summary>
public static class RunLimitsMessage
{
    /// <summary>Null when the build asks nothing (the worker's own limits apply); fields left out stay null (no ask).</summary>
    public static ContainerLimits? ToAsked(RunLimits? limits) =>
        limits is null || (!limits.HasPids && !limits.HasMemoryBytes && !limits.HasCpus) ? null : new ContainerLimits
        {
            Pids = limits.HasPids ? limits.Pids : null,
            MemoryBytes = limits.HasMemoryBytes ? limits.MemoryBytes : null,
            Cpus = limits.HasCpus ? limits.Cpus : null,
        };

    /// <summary>The message for limits a user gave; only the non-null ones are set.</summary>
    public static RunLimits FromAsked(ContainerLimits asked)
    {
        var message = new RunLimits();
        if (asked.Pids is { } pids) message.Pids = pids;
        if (asked.MemoryBytes is { } memory) message.MemoryBytes = memory;
        if (asked.Cpus is { } cpus) message.Cpus = cpus;
        return message;
    }
}
