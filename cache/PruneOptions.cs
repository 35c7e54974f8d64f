namespace BuildFarm.Cache;

public sealed record PruneOptions
{
    /// <summary>Remove step records not used for longer than this (null: no age limit).</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Then remove least recently used records until the blobs left fit in this many bytes (null: no limit).</summary>
    public long? MaxTotalBytes { get; init; }

    /// <summary>A blob that no record references is kept this long after upload: a build may be between uploading a
    /// layer and writing its record.</summary>
    public TimeSpan UnreferencedGrace { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Report what would be removed without removing it.</summary>
    public bool DryRun { get; init; }

    /// <summary>The current time (tests pass a fixed one).</summary>
    public DateTimeOffset? Now { get; init; }
}
