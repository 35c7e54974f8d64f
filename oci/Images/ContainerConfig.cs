using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>The execution parameters in an image config (<c>config</c>), with Docker's extras (Healthcheck, Shell, OnBuild).</summary>
public sealed record ContainerConfig
{
    [JsonPropertyName("User")] public string? User { get; init; }

    /// <summary>A set encoded as a map to empty objects ("80/tcp": {}); see <see cref="EmptySet"/>.</summary>
    [JsonPropertyName("ExposedPorts")] public IReadOnlyDictionary<string, JsonElement>? ExposedPorts { get; init; }

    [JsonPropertyName("Env")] public IReadOnlyList<string>? Env { get; init; }
    [JsonPropertyName("Entrypoint")] public IReadOnlyList<string>? Entrypoint { get; init; }
    [JsonPropertyName("Cmd")] public IReadOnlyList<string>? Cmd { get; init; }
    [JsonPropertyName("Volumes")] public IReadOnlyDictionary<string, JsonElement>? Volumes { get; init; }
    [JsonPropertyName("WorkingDir")] public string? WorkingDir { get; init; }
    [JsonPropertyName("Labels")] public IReadOnlyDictionary<string, string>? Labels { get; init; }
    [JsonPropertyName("StopSignal")] public string? StopSignal { get; init; }
    [JsonPropertyName("ArgsEscaped")] public bool? ArgsEscaped { get; init; }
    [JsonPropertyName("Healthcheck")] public HealthConfig? Healthcheck { get; init; }
    [JsonPropertyName("OnBuild")] public IReadOnlyList<string>? OnBuild { get; init; }
    [JsonPropertyName("Shell")] public IReadOnlyList<string>? Shell { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    /// <summary>Builds the map-of-empty-objects form the spec uses for ExposedPorts and Volumes.</summary>
    public static IReadOnlyDictionary<string, JsonElement> EmptySet(IEnumerable<string> keys)
    {
        var empty = JsonDocument.Parse("{}").RootElement.Clone();
        var set = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var key in keys) set[key] = empty;
        return set;
    }
}
