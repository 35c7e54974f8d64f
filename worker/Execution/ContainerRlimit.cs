namespace BuildFarm.Worker.Execution;

/// <summary>One rlimit of a container's process (<c>--ulimit nofile=1024:2048</c>): the OCI type and its limits, -1 = unlimited.</summary>
public sealed record ContainerRlimit(string Type, long Soft, long Hard)
{
    /// <summary>From a docker ulimit name ("nofile" → RLIMIT_NOFILE; every docker name maps this way).</summary>
    public static ContainerRlimit FromUlimit(string name, long soft, long hard) => new("RLIMIT_" + name.ToUpperInvariant(), soft, hard);

    /// <summary>The OCI value: unlimited is the largest unsigned 64-bit number (RLIM_INFINITY).</summary>
    public static ulong OciValue(long value) => value < 0 ? ulong.MaxValue : (ulong)value;
}
