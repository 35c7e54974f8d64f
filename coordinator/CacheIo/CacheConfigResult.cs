using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>A record's result: the index of the top layer of its filesystem (the chain below it through parents).</summary>
public sealed record CacheConfigResult
{
    [JsonPropertyName("layer")] public int Layer { get; init; }
    [JsonPropertyName("createdAt")] public DateTimeOffset CreatedAt { get; init; }
}
