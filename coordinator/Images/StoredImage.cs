using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Images;

/// <summary>An image's manifest and config as the content store holds them (bytes kept: their digests are the image).</summary>
public sealed record StoredImage(Digest ManifestDigest, byte[] ManifestBytes, ImageManifest Manifest, byte[] ConfigBytes, ImageConfig Config)
{
    public Digest ConfigDigest => Manifest.Config.ParsedDigest;

    /// <summary>Every blob the image is made of: manifest, config, layers.</summary>
    public IEnumerable<Digest> Blobs => Manifest.Layers.Select(l => l.ParsedDigest).Prepend(ConfigDigest).Prepend(ManifestDigest);

    public static async Task<StoredImage> ReadAsync(IContentStore store, LocalImage image, CancellationToken cancellationToken)
    {
        var digest = Digest.Parse(image.ManifestDigest);
        if (!await store.ExistsAsync(digest, cancellationToken))
            throw new InvalidOperationException($"image {image.Name}: its manifest {digest} is missing from the cache at {store.Location} (pruned outside buildfarm?)");
        var manifestBytes = await ReadAllAsync(store, digest, cancellationToken);
        var manifest = ImageManifest.Parse(manifestBytes);
        if (!await store.ExistsAsync(manifest.Config.ParsedDigest, cancellationToken))
            throw new InvalidOperationException($"image {image.Name}: its config {manifest.Config.Digest} is missing from the cache at {store.Location}");
        var configBytes = await ReadAllAsync(store, manifest.Config.ParsedDigest, cancellationToken);
        return new StoredImage(digest, manifestBytes, manifest, configBytes, ImageConfig.Parse(configBytes));
    }

    public static async Task<byte[]> ReadAllAsync(IContentStore store, Digest digest, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenAsync(digest, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
