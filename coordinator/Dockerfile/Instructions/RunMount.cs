namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// One <c>RUN --mount</c>, every option typed. <see cref="ReadOnly"/> defaults to true except for
/// cache and tmpfs mounts. <see cref="Env"/> names the variable a secret is exposed as ("" = default).
/// </summary>
public sealed record RunMount
{
    public MountType Type { get; init; } = MountType.Bind;
    public string From { get; init; } = "";
    public string Source { get; init; } = "";
    public string Target { get; init; } = "";
    public bool ReadOnly { get; init; }
    /// <summary>tmpfs size in bytes (0 = unlimited).</summary>
    public long SizeLimit { get; init; }
    /// <summary>The <c>id=</c> of a cache or secret mount.</summary>
    public string CacheId { get; init; } = "";
    public MountSharing? CacheSharing { get; init; }
    public bool Required { get; init; }
    public string? Env { get; init; }
    public uint? Mode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
}
