using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.Images;

/// <summary>A named image in the local store; its manifest and config blobs live in the content store.</summary>
public sealed record LocalImage
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("manifestDigest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("configDigest")] public required string ConfigDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
}
