using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>What a step produced, stored under its cache key. Besides the result it keeps the inputs that made the
/// key, so that a later miss can be explained by naming the input that differs from the nearest earlier record.</summary>
public sealed record StepRecord
{
    /// <summary>The step's cache key, a <c>sha256:</c> digest string from the planner.</summary>
    [JsonPropertyName("key")] public required string Key { get; init; }

    /// <summary>The layer the step added (compressed blob in the store); null for steps that change only the config.</summary>
    [JsonPropertyName("layer"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Descriptor? Layer { get; init; }

    /// <summary>Digest of the uncompressed layer tar (the image config's rootfs.diff_ids entry).</summary>
    [JsonPropertyName("diffId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DiffId { get; init; }

    /// <summary>Changes to the image config (Env, Cmd, WorkingDir, …) as a JSON object.</summary>
    [JsonPropertyName("configChanges"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? ConfigChanges { get; init; }

    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }

    /// <summary>Everything that went into the key (parent key, expanded instruction, flags, args, source checksums, platform).</summary>
    [JsonPropertyName("inputs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Inputs { get; init; }

    /// <summary>The parent step's key (or the base manifest digest); indexed for miss explanations.</summary>
    [JsonPropertyName("parentKey"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ParentKey { get; init; }

    /// <summary>A stable name of the step's place in the build (e.g. "Dockerfile#stage=build#3"); indexed for miss explanations.</summary>
    [JsonPropertyName("step"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StepIdentity { get; init; }

    /// <summary>Checksum of the rest of the record (<see cref="StepRecordSeal"/>): a record that does not match it is
    /// damaged and is a miss. Null only in records written before seals existed (also a miss).</summary>
    [JsonPropertyName("seal"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Seal { get; init; }

    /// <summary>Blobs this record keeps alive when pruning.</summary>
    [JsonIgnore]
    public IEnumerable<Digest> ReferencedBlobs =>
        Layer is { } layer && Digest.TryParse(layer.Digest, out var d) ? [d] : [];
}
