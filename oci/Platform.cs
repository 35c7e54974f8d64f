using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci;

/// <summary>The platform an image runs on (os/architecture/variant).</summary>
public sealed record Platform
{
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    [JsonPropertyName("os")] public required string Os { get; init; }

    [JsonPropertyName("os.version"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OsVersion { get; init; }

    [JsonPropertyName("os.features"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? OsFeatures { get; init; }

    [JsonPropertyName("variant"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    public static Platform LinuxAmd64 { get; } = new() { Os = "linux", Architecture = "amd64" };

    /// <summary>Parses "os/arch[/variant]" as given to <c>--platform</c>.</summary>
    public static Platform Parse(string value)
    {
        var parts = value.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
            throw new FormatException($"invalid platform '{value}': expected os/architecture[/variant]");
        return new Platform { Os = parts[0].ToLowerInvariant(), Architecture = parts[1].ToLowerInvariant(), Variant = parts.Length == 3 ? parts[2].ToLowerInvariant() : null };
    }

    /// <summary>
    /// True when an image for <paramref name="candidate"/> runs here: same os and architecture, and same variant
    /// once defaults are filled in (arm64 means v8, arm means v7; amd64 variants are ignored unless both name one).
    /// </summary>
    public bool Matches(Platform candidate)
    {
        if (!string.Equals(Os, candidate.Os, StringComparison.OrdinalIgnoreCase)) return false;
        if (!string.Equals(NormalizeArch(Architecture), NormalizeArch(candidate.Architecture), StringComparison.OrdinalIgnoreCase)) return false;
        var mine = NormalizeVariant(Architecture, Variant);
        var theirs = NormalizeVariant(candidate.Architecture, candidate.Variant);
        return mine is null || theirs is null || string.Equals(mine, theirs, StringComparison.OrdinalIgnoreCase);
    }

    private static string NormalizeArch(string arch) => arch switch
    {
        "x86_64" or "x86-64" => "amd64",
        "aarch64" => "arm64",
        _ => arch,
    };

    private static string? NormalizeVariant(string arch, string? variant) => (NormalizeArch(arch), variant) switch
    {
        ("arm64", null or "" or "v8") => "v8",
        ("arm", null or "") => "v7",
        (_, "") => null,
        _ => variant,
    };

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
