using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>An OCI image manifest (also reads Docker schema2 manifests, which have the same shape).</summary>
public sealed record ImageManifest
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; } = MediaTypes.OciManifest;
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
    [JsonPropertyName("config")] public required Descriptor Config { get; init; }
    [JsonPropertyName("layers")] public required IReadOnlyList<Descriptor> Layers { get; init; }
    [JsonPropertyName("subject")] public Descriptor? Subject { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    public static ImageManifest Parse(ReadOnlySpan<byte> json)
    {
        var manifest = OciJson.Deserialize<ImageManifest>(json);
        manifest.Validate();
        return manifest;
    }

    public byte[] ToJson() => OciJson.Serialize(this);

    public void Validate()
    {
        if (SchemaVersion != 2)
            throw new InvalidOciDocumentException($"manifest schemaVersion is {SchemaVersion}; only 2 is supported");
        if (Config is null || Layers is null)
            throw new InvalidOciDocumentException("manifest lacks config or layers");
        Config.Validate();
        foreach (var layer in Layers) layer.Validate();
        Subject?.Validate();
    }
}
