using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci;

/// <summary>An OCI content descriptor: what a blob is, how big, and where to find it.</summary>
public sealed record Descriptor
{
    [JsonPropertyName("mediaType")] public required string MediaType { get; init; }
    [JsonPropertyName("digest")] public required string Digest { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }

    [JsonPropertyName("urls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Urls { get; init; }

    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    [JsonPropertyName("data"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Data { get; init; }

    [JsonPropertyName("platform"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Platform? Platform { get; init; }

    [JsonPropertyName("artifactType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ArtifactType { get; init; }

    /// <summary>Fields this version does not know, kept so a document round-trips.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    [JsonIgnore] public Digest ParsedDigest => Oci.Digest.Parse(Digest);

    /// <summary>A descriptor of exactly these bytes.</summary>
    public static Descriptor For(string mediaType, ReadOnlySpan<byte> content) =>
        new() { MediaType = mediaType, Digest = Oci.Digest.Compute(content).ToString(), Size = content.Length };

    /// <summary>Checks what the schema cannot: a well-formed digest, a non-negative size, padded base64 data, absolute URLs.</summary>
    public void Validate()
    {
        if (!Oci.Digest.TryParse(Digest, out _))
            throw new InvalidOciDocumentException($"descriptor digest '{Digest}' is not algorithm:encoded (sha256 needs 64 lowercase hex digits)");
        if (Size < 0)
            throw new InvalidOciDocumentException($"descriptor {Digest} has negative size {Size}");
        if (Data is not null)
        {
            if (Data.Length % 4 != 0 || !Convert.TryFromBase64String(Data, new byte[Data.Length], out _))
                throw new InvalidOciDocumentException($"descriptor {Digest} has data that is not padded base64");
        }
        foreach (var url in Urls ?? [])
            if (!Uri.TryCreate(url, UriKind.Absolute, out _))
                throw new InvalidOciDocumentException($"descriptor {Digest} has url '{url}', which is not an absolute URI");
    }
}
