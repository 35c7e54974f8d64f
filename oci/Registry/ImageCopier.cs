using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layout;

namespace BuildFarm.Oci.Registry;

/// <summary>Moves whole images between an OCI layout and a registry, blobs first and manifests last, digests unchanged.</summary>
public static class ImageCopier
{
    /// <summary>Blobs of one image uploaded at once.</summary>
    public const int ParallelUploads = 4;

    /// <summary>
    /// Pushes the image (manifest or index, with everything it references) named by <paramref name="top"/> in the layout
    /// to <paramref name="target"/>; children of an index go by digest, the top document under the target's tag.
    /// </summary>
    public static async Task<Descriptor> PushAsync(RegistryClient client, OciLayout layout, Descriptor top, ImageReference target,
        string? mountFrom = null, CancellationToken cancellationToken = default)
    {
        var document = await layout.ReadManifestAsync(top, cancellationToken);
        if (document.IsIndex)
        {
            foreach (var child in document.ParseIndex().Manifests)
                await PushAsync(client, layout, child, target.WithDigest(child.ParsedDigest) with { Tag = null }, mountFrom, cancellationToken);
        }
        else
        {
            var manifest = document.ParseManifest();
            // Blobs upload side by side (docker pushes 5 at once); the manifest goes only after all of them.
            await Parallel.ForEachAsync(manifest.Layers.Prepend(manifest.Config).DistinctBy(b => b.Digest),
                new ParallelOptions { MaxDegreeOfParallelism = ParallelUploads, CancellationToken = cancellationToken },
                async (blob, token) =>
                {
                    if (blob.Data is not null && !layout.HasBlob(blob.ParsedDigest)) return; // inline-only content
                    await client.PushBlobAsync(target, blob, () => layout.OpenBlob(blob), mountFrom, token);
                });
        }
        return await client.PutManifestAsync(target, document, cancellationToken);
    }

    /// <summary>
    /// Pulls <paramref name="source"/> into the layout and names it <paramref name="refName"/> in index.json. With a
    /// platform, an index is narrowed to that platform's manifest; without, the index and all its manifests are copied.
    /// </summary>
    public static async Task<Descriptor> PullAsync(RegistryClient client, ImageReference source, OciLayout layout,
        Platform? platform = null, string? refName = null, CancellationToken cancellationToken = default)
    {
        var document = await client.GetManifestAsync(source, cancellationToken);
        if (document.IsIndex && platform is not null)
        {
            var chosen = document.ParseIndex().SelectPlatform(platform);
            document = await client.GetManifestAsync(source.WithDigest(chosen.ParsedDigest), cancellationToken);
        }
        await PullContentAsync(client, source, layout, document, cancellationToken);
        return await layout.AddManifestAsync(document, refName, null, cancellationToken);
    }

    private static async Task PullContentAsync(RegistryClient client, ImageReference source, OciLayout layout, ManifestDocument document, CancellationToken cancellationToken)
    {
        if (document.IsIndex)
        {
            foreach (var child in document.ParseIndex().Manifests)
            {
                var childDocument = await client.GetManifestAsync(source.WithDigest(child.ParsedDigest), cancellationToken);
                await PullContentAsync(client, source, layout, childDocument, cancellationToken);
                await layout.WriteBlobAsync(new MemoryStream(childDocument.Bytes, writable: false), childDocument.MediaType, child, cancellationToken);
            }
            return;
        }
        var manifest = document.ParseManifest();
        foreach (var blob in manifest.Layers.Prepend(manifest.Config))
        {
            if (layout.HasBlob(blob.ParsedDigest)) continue;
            await using var stream = await client.OpenBlobAsync(source, blob, cancellationToken);
            await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
        }
    }
}
