using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// A build's options for its RUN steps (buildx's --network, --add-host, --shm-size, --ulimit). As BuildKit's ExecOp, each
/// is part of a RUN step's key — except the IPs of the extra hosts, which BuildKit's cache map clears.
/// </summary>
public sealed record RunOptions
{
    public static RunOptions Default { get; } = new();

    /// <summary><see cref="RunNetwork"/> value used by a RUN without <c>--network</c>.</summary>
    public string Network { get; init; } = RunNetwork.Default;

    public IReadOnlyList<RunExtraHost> ExtraHosts { get; init; } = [];

    /// <summary>Bytes of /dev/shm; 0 = the default (64 MiB).</summary>
    public long ShmSize { get; init; }

    public IReadOnlyList<RunUlimit> Ulimits { get; init; } = [];
}
