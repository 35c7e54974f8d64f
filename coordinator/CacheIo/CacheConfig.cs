using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>
/// BuildKit's cache config (<c>application/vnd.buildkit.cacheconfig.v0</c>, cache/remotecache/v1/types/spec.go): the
/// layers of the exported results, each with its parent layer, and the records (cache keys) that link to each other
/// and point at their result's top layer. Our records carry the farm's keys in <c>digest</c> and our step record beside
/// it; BuildKit's decoder ignores that field, ours ignores records without it.
/// </summary>
public sealed record CacheConfig
{
    public const string MediaType = "application/vnd.buildkit.cacheconfig.v0";

    [JsonPropertyName("layers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CacheConfigLayer>? Layers { get; init; }

    [JsonPropertyName("records"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CacheConfigRecord>? Records { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Parses and checks the links (layer parents, result layers, record inputs) so a damaged config is refused by
    /// name instead of failing half-imported.</summary>
    public static CacheConfig Parse(byte[] json, string where)
    {
        CacheConfig config;
        try
        {
            config = JsonSerializer.Deserialize<CacheConfig>(json, Json) ?? throw new JsonException("null document");
        }
        catch (JsonException e)
        {
            throw new InvalidCacheException($"{where}: the cache config is not valid JSON: {e.Message}");
        }
        var layers = config.Layers ?? [];
        var records = config.Records ?? [];
        for (var i = 0; i < layers.Count; i++)
        {
            if (!Oci.Digest.TryParse(layers[i].Blob, out _))
                throw new InvalidCacheException($"{where}: cache config layer {i} has blob '{layers[i].Blob}', which is not a digest");
            if (layers[i].Parent < -1 || layers[i].Parent >= layers.Count || layers[i].Parent == i)
                throw new InvalidCacheException($"{where}: cache config layer {i} has parent {layers[i].Parent}, outside the {layers.Count} layers");
        }
        for (var i = 0; i < records.Count; i++)
        {
            foreach (var result in records[i].Results ?? [])
                if (result.Layer < 0 || result.Layer >= layers.Count)
                    throw new InvalidCacheException($"{where}: cache config record {i} names layer {result.Layer}, outside the {layers.Count} layers");
            foreach (var input in (records[i].Inputs ?? []).SelectMany(x => x))
                if (input.Link < 0 || input.Link >= records.Count)
                    throw new InvalidCacheException($"{where}: cache config record {i} links record {input.Link}, outside the {records.Count} records");
        }
        return config;
    }
}
