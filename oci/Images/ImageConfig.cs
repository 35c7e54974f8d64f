using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>An OCI image configuration (also reads Docker image configs; their extra fields round-trip).</summary>
public sealed record ImageConfig
{
    /// <summary>RFC 3339 creation time, kept as text so a fetched config re-serializes to the same bytes.</summary>
    [JsonPropertyName("created")] public string? Created { get; init; }
    [JsonPropertyName("author")] public string? Author { get; init; }
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    [JsonPropertyName("os")] public required string Os { get; init; }
    [JsonPropertyName("os.version")] public string? OsVersion { get; init; }
    [JsonPropertyName("os.features")] public IReadOnlyList<string>? OsFeatures { get; init; }
    [JsonPropertyName("variant")] public string? Variant { get; init; }
    [JsonPropertyName("config")] public ContainerConfig? Config { get; init; }
    [JsonPropertyName("rootfs")] public required RootFs RootFs { get; init; }
    [JsonPropertyName("history")] public IReadOnlyList<HistoryEntry>? History { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    [JsonIgnore] public Platform Platform => new() { Os = Os, Architecture = Architecture, Variant = Variant, OsVersion = OsVersion, OsFeatures = OsFeatures };

    public static ImageConfig Parse(ReadOnlySpan<byte> json)
    {
        var config = OciJson.Deserialize<ImageConfig>(json);
        config.Validate();
        return config;
    }

    public byte[] ToJson() => OciJson.Serialize(this);

    /// <summary>Checks what the schema cannot: Env entries are NAME=value, rootfs is "layers" of digests, times parse.</summary>
    public void Validate()
    {
        foreach (var env in Config?.Env ?? [])
            if (env.IndexOf('=') <= 0)
                throw new InvalidOciDocumentException($"config Env entry '{env}' is not NAME=value");
        if (RootFs is null || RootFs.Type != "layers")
            throw new InvalidOciDocumentException($"config rootfs.type is '{RootFs?.Type}', expected 'layers'");
        foreach (var id in RootFs.DiffIds ?? [])
            if (!Digest.TryParse(id, out _))
                throw new InvalidOciDocumentException($"config rootfs.diff_ids entry '{id}' is not a digest");
        if (Created is not null && !TryParseTime(Created, out _))
            throw new InvalidOciDocumentException($"config created '{Created}' is not an RFC 3339 time");
        foreach (var h in History ?? [])
            if (h.Created is not null && !TryParseTime(h.Created, out _))
                throw new InvalidOciDocumentException($"config history created '{h.Created}' is not an RFC 3339 time");
    }

    /// <summary>Formats a time the way Go's RFC3339Nano does (UTC, "Z", no trailing zeros).</summary>
    public static string FormatTime(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return text + "Z";
    }

    public static bool TryParseTime(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out time)
        && text.Length >= 20 && text[10] is 'T' or 't';
}
