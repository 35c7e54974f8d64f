using System.Text.Json;

namespace BuildFarm.Oci.Images;

/// <summary>
/// A manifest or index exactly as stored or fetched: its bytes are what the digest is of, so they are kept and
/// never re-serialized. Parse the bytes for the typed view.
/// </summary>
public sealed class ManifestDocument
{
    public ManifestDocument(string mediaType, byte[] bytes)
    {
        MediaType = mediaType;
        Bytes = bytes;
        Digest = Digest.Compute(bytes);
    }

    public string MediaType { get; }
    public byte[] Bytes { get; }
    public Digest Digest { get; }

    public bool IsIndex => MediaTypes.IsIndex(MediaType);
    public bool IsManifest => MediaTypes.IsManifest(MediaType);

    public Descriptor ToDescriptor(Platform? platform = null) =>
        new() { MediaType = MediaType, Digest = Digest.ToString(), Size = Bytes.Length, Platform = platform };

    public ImageManifest ParseManifest() => IsManifest
        ? ImageManifest.Parse(Bytes)
        : throw new InvalidOciDocumentException($"{Digest} is a {MediaType}, not an image manifest");

    public ImageIndex ParseIndex() => IsIndex
        ? ImageIndex.Parse(Bytes)
        : throw new InvalidOciDocumentException($"{Digest} is a {MediaType}, not an image index");

    public static ManifestDocument From(ImageManifest manifest) => new(manifest.MediaType ?? MediaTypes.OciManifest, manifest.ToJson());
    public static ManifestDocument From(ImageIndex index) => new(index.MediaType ?? MediaTypes.OciIndex, index.ToJson());

    /// <summary>
    /// Wraps fetched bytes, taking the media type from the document's own <c>mediaType</c> field when it has one,
    /// else from the transport's content type, else by shape (a "manifests" array means an index).
    /// </summary>
    public static ManifestDocument FromBytes(byte[] bytes, string? contentType = null)
    {
        string? declared = null;
        var hasManifests = false;
        try
        {
            using var json = JsonDocument.Parse(bytes);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidOciDocumentException("manifest is not a JSON object");
            if (json.RootElement.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String) declared = mt.GetString();
            hasManifests = json.RootElement.TryGetProperty("manifests", out _);
        }
        catch (JsonException e)
        {
            throw new InvalidOciDocumentException($"manifest is not JSON: {e.Message}", e);
        }
        var mediaType = declared
            ?? (contentType is not null && (MediaTypes.IsIndex(contentType) || MediaTypes.IsManifest(contentType)) ? contentType : null)
            ?? (hasManifests ? MediaTypes.OciIndex : MediaTypes.OciManifest);
        if (contentType is not null && declared is not null && contentType != declared
            && (MediaTypes.IsIndex(contentType) || MediaTypes.IsManifest(contentType)))
            throw new InvalidOciDocumentException($"manifest says mediaType '{declared}' but was served as '{contentType}'");
        return new ManifestDocument(mediaType, bytes);
    }
}
