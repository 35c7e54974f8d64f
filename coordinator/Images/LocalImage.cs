using System.Text.Json.Serialization;

namespace BuildFarm.Coordinator.Images;

/// <summary>A named image in the local store; its manifest and config blobs live in the content store.
/// Its ID (as docker shows it) is the config digest; several names may share one.</summary>
public sealed record LocalImage
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("manifestDigest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("configDigest")] public required string ConfigDigest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    /// <summary>repo@digest for each registry this image was pulled from or pushed to (docker's RepoDigests).</summary>
    [JsonPropertyName("repoDigests")] public IReadOnlyList<string>? RepoDigests { get; init; }

    /// <summary>A multi-platform build's OCI image index (in the content store), null for a single image.
    /// <see cref="ManifestDigest"/> and <see cref="ConfigDigest"/> are then the image of the platform this host runs
    /// (what run, inspect and history read); push, save --format oci, rmi and prune take the whole index.</summary>
    [JsonPropertyName("indexDigest"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IndexDigest { get; init; }

    /// <summary>The document that names the whole image: the index when there is one, else the manifest (the prune root,
    /// the digest a push prints and a team owns).</summary>
    [JsonIgnore] public string RootDigest => IndexDigest ?? ManifestDigest;

    /// <summary>The ID docker prints: the config digest's first 12 hex characters.</summary>
    [JsonIgnore] public string ShortId => ConfigDigest[7..19];
}
