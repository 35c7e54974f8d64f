using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// Deletes the blobs of an image whose last name was removed, except those something else still needs: the images that
/// keep a name (their manifests are the prune roots) and the step records (the build cache). Like docker's "Deleted:".
/// </summary>
public sealed class ImageRemover(SharedCache cache, LocalImageStore images)
{
    /// <summary>Returns the digests deleted (manifest and config first, as docker lists them).</summary>
    public async Task<IReadOnlyList<Digest>> DeleteUnusedAsync(LocalImage removed, CancellationToken cancellationToken)
    {
        var store = cache.Blobs;
        if (!await store.ExistsAsync(Digest.Parse(removed.RootDigest), cancellationToken)) return [];
        // A multi-platform image goes whole: its index and every platform's image.
        var image = await StoredImageSet.ReadAsync(store, removed, cancellationToken);
        var inUse = new HashSet<Digest>();
        foreach (var other in await images.ListAsync(cancellationToken))
        {
            inUse.Add(Digest.Parse(other.RootDigest));
            inUse.Add(Digest.Parse(other.ManifestDigest));
            try
            {
                inUse.UnionWith((await StoredImageSet.ReadAsync(store, other, cancellationToken)).Blobs);
            }
            catch (InvalidOperationException)
            {
                // Another image already lost its manifest or config (pruned outside buildfarm): it keeps nothing alive.
            }
        }
        await foreach (var entry in cache.Records.ListAsync(cancellationToken))
            inUse.UnionWith(entry.Record.ReferencedBlobs);
        var deleted = new List<Digest>();
        // The index, then each manifest, go first: a stored index or manifest always means its blobs are all there.
        foreach (var blob in image.Blobs.Where(b => !inUse.Contains(b)))
        {
            await store.DeleteAsync(blob, cancellationToken);
            deleted.Add(blob);
        }
        return deleted;
    }
}
