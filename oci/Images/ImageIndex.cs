using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>An OCI image index (also reads Docker manifest lists).</summary>
public sealed record ImageIndex
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; } = MediaTypes.OciIndex;
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
    [JsonPropertyName("manifests")] public required IReadOnlyList<Descriptor> Manifests { get; init; }
    [JsonPropertyName("subject")] public Descriptor? Subject { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    public static ImageIndex Parse(ReadOnlySpan<byte> json)
    {
        var index = OciJson.Deserialize<ImageIndex>(json);
        index.Validate();
        return index;
    }

    public byte[] ToJson() => OciJson.Serialize(this);

    public void Validate()
    {
        if (SchemaVersion != 2)
            throw new InvalidOciDocumentException($"index schemaVersion is {SchemaVersion}; only 2 is supported");
        if (Manifests is null)
            throw new InvalidOciDocumentException("index lacks manifests");
        foreach (var m in Manifests) m.Validate();
        Subject?.Validate();
    }

    /// <summary>The manifest for <paramref name="platform"/>: an exact variant match first, then the first compatible one.</summary>
    public Descriptor SelectPlatform(Platform platform)
    {
        var candidates = Manifests.Where(m => m.Platform is not null && platform.Matches(m.Platform) && MediaTypes.IsManifest(m.MediaType)).ToList();
        var exact = candidates.FirstOrDefault(m => m.Platform!.Variant == platform.Variant);
        // An index of one image that names no platform (some tools write those) means "this image".
        var sole = Manifests.Count == 1 && Manifests[0].Platform is null && MediaTypes.IsManifest(Manifests[0].MediaType) ? Manifests[0] : null;
        return exact ?? candidates.FirstOrDefault() ?? sole
            ?? throw new PlatformNotFoundException(platform, Manifests.Select(m => m.Platform?.ToString() ?? "(none)").ToList());
    }
}
