using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// Everything a named image is made of: its image (a single platform's), or a multi-platform build's index with the
/// image of each platform it lists. What rmi deletes and what keeps another image's blobs alive.
/// </summary>
public sealed record StoredImageSet(Digest? IndexDigest, byte[]? IndexBytes, IReadOnlyList<(Platform? Platform, StoredImage Image)> Images)
{
    /// <summary>Every blob: the index first, then each manifest with its config and layers (a stored index or manifest
    /// always means what it names is there, so deleting in this order never leaves a document naming a missing blob).</summary>
    public IEnumerable<Digest> Blobs =>
        (IndexDigest is { } index ? [index] : Enumerable.Empty<Digest>()).Concat(Images.SelectMany(i => i.Image.Blobs)).Distinct();

    public static async Task<StoredImageSet> ReadAsync(IContentStore store, LocalImage image, CancellationToken cancellationToken)
    {
        if (image.IndexDigest is null)
            return new StoredImageSet(null, null, [(null, await StoredImage.ReadAsync(store, image, cancellationToken))]);
        var indexDigest = Digest.Parse(image.IndexDigest);
        if (!await store.ExistsAsync(indexDigest, cancellationToken))
            throw new InvalidOperationException($"image {image.Name}: its index {indexDigest} is missing from the cache at {store.Location} (pruned outside buildfarm?)");
        var bytes = await StoredImage.ReadAllAsync(store, indexDigest, cancellationToken);
        var images = new List<(Platform?, StoredImage)>();
        foreach (var entry in ImageIndex.Parse(bytes).Manifests)
        {
            // Each platform's manifest is read like a named image's (same checks, same messages).
            var one = image with { IndexDigest = null, ManifestDigest = entry.Digest };
            images.Add((entry.Platform, await StoredImage.ReadAsync(store, one, cancellationToken)));
        }
        return new StoredImageSet(indexDigest, bytes, images);
    }
}
