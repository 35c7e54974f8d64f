using System.Text.Json.Serialization;
using BuildFarm.Cache;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>One cache record: its key (<c>digest</c>), its result (the top layer of its filesystem), and the records it
/// was made from (<c>inputs</c>: per input, the records that can stand for it).</summary>
public sealed record CacheConfigRecord
{
    [JsonPropertyName("layers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CacheConfigResult>? Results { get; init; }

    [JsonPropertyName("chains"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CacheConfigChain>? Chains { get; init; }

    [JsonPropertyName("digest"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }

    [JsonPropertyName("inputs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<IReadOnlyList<CacheConfigInput>>? Inputs { get; init; }

    /// <summary>The farm's own step record for <see cref="Digest"/> (unsealed); absent in caches BuildKit wrote.</summary>
    [JsonPropertyName(FarmRecordField), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StepRecord? FarmRecord { get; init; }

    public const string FarmRecordField = "buildfarm.record";
}
