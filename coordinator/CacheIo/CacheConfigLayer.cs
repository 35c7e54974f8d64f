using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>One layer blob of a cache config; <see cref="Parent"/> is the index of the layer below it, -1 for none
/// (BuildKit omits 0, so a missing field reads as layer 0).</summary>
public sealed record CacheConfigLayer
{
    [JsonPropertyName("blob")] public required string Blob { get; init; }

    [JsonPropertyName("parent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Parent { get; init; }

    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CacheLayerAnnotations? Annotations { get; init; }
}
