namespace BuildFarm.Oci.Layers;

/// <summary>How entries are normalized when a layer tar is written.</summary>
public sealed record LayerWriterOptions
{
    /// <summary>When set, every entry gets this uid (e.g. 0), replacing the one read from disk.</summary>
    public int? Uid { get; init; }

    public int? Gid { get; init; }

    /// <summary>When set, every entry gets this user name; by default names are left empty (uids alone are portable).</summary>
    public string? UserName { get; init; }

    public string? GroupName { get; init; }

    /// <summary>SOURCE_DATE_EPOCH: modification times later than this are clamped down to it.</summary>
    public DateTimeOffset? SourceDateEpoch { get; init; }

    /// <summary>When set, every entry gets exactly this modification time.</summary>
    public DateTimeOffset? FixedModificationTime { get; init; }

    /// <summary>Whether extended attributes are written (overlayfs' own trusted.overlay.* never are).</summary>
    public bool IncludeXattrs { get; init; } = true;

    public static LayerWriterOptions Default { get; } = new();

    /// <summary>Parses a SOURCE_DATE_EPOCH value (decimal seconds since 1970-01-01 UTC).</summary>
    public static DateTimeOffset ParseSourceDateEpoch(string value)
    {
        if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || seconds > 253402300799)
            throw new FormatException($"SOURCE_DATE_EPOCH '{value}' is not a non-negative number of seconds");
        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }

    internal DateTimeOffset NormalizeTime(DateTimeOffset time)
    {
        if (FixedModificationTime is { } fixedTime) time = fixedTime;
        if (SourceDateEpoch is { } epoch && time > epoch) time = epoch;
        // Tar headers carry whole seconds; dropping the fraction keeps layers identical across file systems.
        return DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
    }
}
