using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>What BuildKit notes of a cache layer: its media type, uncompressed digest, size and creation time.</summary>
public sealed record CacheLayerAnnotations
{
    [JsonPropertyName("mediaType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MediaType { get; init; }

    [JsonPropertyName("diffID"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DiffId { get; init; }

    [JsonPropertyName("size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Size { get; init; }

    [JsonPropertyName("createdAt")] public DateTimeOffset CreatedAt { get; init; }
}
