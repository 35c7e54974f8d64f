using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.DockerArchive;

/// <summary>One image in a Docker archive's <c>manifest.json</c> (the <c>docker save</c>/<c>docker load</c> format).</summary>
public sealed record DockerArchiveManifestEntry
{
    [JsonPropertyName("Config")] public required string Config { get; init; }
    [JsonPropertyName("RepoTags")] public IReadOnlyList<string>? RepoTags { get; init; }
    [JsonPropertyName("Layers")] public required IReadOnlyList<string> Layers { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }
}
