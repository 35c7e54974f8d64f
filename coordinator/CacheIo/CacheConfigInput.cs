using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>A link from a record to the record of one of its inputs (by index in the config's records).</summary>
public sealed record CacheConfigInput
{
    [JsonPropertyName("selector"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Selector { get; init; }

    [JsonPropertyName("link")] public int Link { get; init; }
}
