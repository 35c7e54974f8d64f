using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>A result given as an explicit list of layer indexes (newer BuildKit); read, never written.</summary>
public sealed record CacheConfigChain
{
    [JsonPropertyName("layers")] public IReadOnlyList<int>? Layers { get; init; }
    [JsonPropertyName("createdAt")] public DateTimeOffset CreatedAt { get; init; }
}
