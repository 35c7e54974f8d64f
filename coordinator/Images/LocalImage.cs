using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.Images;

/// <summary>A named image in the local store; its manifest and config blobs live in the content store.
/// Its ID (as docker shows it) is the config digest; several names may share one.</summary>
public sealed record LocalImage
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("manifestDigest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("configDigest")] public required string ConfigDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    /// <summary>repo@digest for each registry this image was pulled from or pushed to (docker's RepoDigests).</summary>
    [JsonPropertyName("repoDigests")] public IReadOnlyList<string>? RepoDigests { get; init; }

    /// <summary>The ID docker prints: the config digest's first 12 hex characters.</summary>
    [JsonIgnore] public string ShortId => ConfigDigest[7..19];
}
