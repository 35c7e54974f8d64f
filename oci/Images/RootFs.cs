using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>The config's rootfs: the diff ids (digests of the uncompressed layer tars), bottom first.</summary>
public sealed record RootFs
{
    [JsonPropertyName("type")] public string Type { get; init; } = "layers";
    [JsonPropertyName("diff_ids")] public required IReadOnlyList<string> DiffIds { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }
}
