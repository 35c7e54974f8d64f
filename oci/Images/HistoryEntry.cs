using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>One step of an image's history; <see cref="EmptyLayer"/> steps have no layer in rootfs.</summary>
public sealed record HistoryEntry
{
    [JsonPropertyName("created")] public string? Created { get; init; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; init; }
    [JsonPropertyName("author")] public string? Author { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }
}
