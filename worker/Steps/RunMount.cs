namespace BuildFarm.Worker.Steps;

/// <summary>One RUN --mount, with the fields of the Dockerfile reference. Unset fields take BuildKit's defaults.</summary>
public sealed record RunMount
{
    public required RunMountType Type { get; init; }
    /// <summary>Mount point in the container. Secrets: the file path the planner resolved (null: an env-only secret).</summary>
    public string? Target { get; init; }
    /// <summary>Cache id (defaults to the target) or secret id (always given: the planner resolves it).</summary>
    public string? Id { get; init; }
    /// <summary>bind: a stage name (a key of <see cref="StepRequest.Stages"/>) instead of the build context.</summary>
    public string? From { get; init; }
    /// <summary>bind: the path inside the context or stage (default its root).</summary>
    public string? Source { get; init; }
    /// <summary>bind defaults to read-only; cache and tmpfs to read-write.</summary>
    public bool? ReadOnly { get; init; }
    public CacheSharing Sharing { get; init; } = CacheSharing.Shared;
    /// <summary>Octal mode of a secret file (default 0400) or a new cache directory (default 0755).</summary>
    public uint? Mode { get; init; }
    public int? Uid { get; init; }
    public int? Gid { get; init; }
    /// <summary>secret: fail when the secret was not provided (default: skip the mount).</summary>
    public bool Required { get; init; }
    /// <summary>secret: also (or only, without a target) expose it as this environment variable.</summary>
    public string? Env { get; init; }
    /// <summary>tmpfs: size in bytes.</summary>
    public long? Size { get; init; }
}
