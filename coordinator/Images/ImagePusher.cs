using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// <c>push</c>: uploads a local image's blobs the registry lacks ("Layer already exists" for the others), mounting a
/// blob from another repository of the same registry when a local image came from there (docker's "Mounted from"),
/// then the manifest; returns its digest and records repo@digest on the image.
/// </summary>
public sealed class ImagePusher(IContentStore store, RegistryClient client, LocalImageStore images, string scratch)
{
    public async Task<Digest> PushAsync(LocalImage image, IProgress<string> status, CancellationToken cancellationToken)
    {
        var target = ImageReference.Parse(image.Name);
        var set = await StoredImageSet.ReadAsync(store, image, cancellationToken);
        status.Report($"The push refers to repository [{ImagePuller.RepositoryOf(image.Name)}]");
        var mountable = await MountSourcesAsync(target, cancellationToken);
        Descriptor pushed;
        if (set.IndexBytes is { } indexBytes)
        {
            // A multi-platform image: each platform's blobs and manifest by digest, then the index under the tag.
            foreach (var (_, one) in set.Images)
            {
                await PushBlobsAsync(target, one, mountable, status, cancellationToken);
                await client.PutManifestAsync(target with { Tag = null, Digest = one.ManifestDigest },
                    ManifestDocument.FromBytes(one.ManifestBytes, one.Manifest.MediaType), cancellationToken);
            }
            pushed = await client.PutManifestAsync(target, ManifestDocument.FromBytes(indexBytes, MediaTypes.OciIndex), cancellationToken);
        }
        else
        {
            var stored = set.Images[0].Image;
            await PushBlobsAsync(target, stored, mountable, status, cancellationToken);
            pushed = await client.PutManifestAsync(target, ManifestDocument.FromBytes(stored.ManifestBytes, stored.Manifest.MediaType), cancellationToken);
        }
        status.Report($"{target.Reference}: digest: {pushed.Digest} size: {pushed.Size}");
        await images.AddRepoDigestAsync(image.Name, $"{ImagePuller.RepositoryOf(image.Name)}@{pushed.Digest}", cancellationToken);
        return pushed.ParsedDigest;
    }

    // Blobs upload side by side (as docker push does); the manifest goes only after all of them.
    private Task PushBlobsAsync(ImageReference target, StoredImage stored, Dictionary<Digest, string> mountable, IProgress<string> status,
        CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(stored.Manifest.Layers.Append(stored.Manifest.Config).DistinctBy(b => b.Digest),
            new ParallelOptions { MaxDegreeOfParallelism = ImageCopier.ParallelUploads, CancellationToken = cancellationToken },
            async (blob, token) =>
        {
            var digest = blob.ParsedDigest;
            var isLayer = blob != stored.Manifest.Config;
            var mountFrom = mountable.GetValueOrDefault(digest);
            if (await client.BlobExistsAsync(target, digest, token))
            {
                if (isLayer) status.Report($"{digest.Hex[..12]}: Layer already exists");
                return;
            }
            // Staged to a file: the client may reopen the content for a retry, and the store's streams are async.
            var staged = Path.Combine(scratch, $"push-{digest.Hex}-{Guid.NewGuid():N}");
            try
            {
                await using (var source = await store.OpenAsync(digest, token))
                await using (var file = File.Create(staged))
                    await source.CopyToAsync(file, token);
                var result = await client.PushBlobAsync(target, blob, () => File.OpenRead(staged), mountFrom, token);
                if (isLayer)
                    status.Report(result == BlobPushResult.Mounted ? $"{digest.Hex[..12]}: Mounted from {mountFrom}" : $"{digest.Hex[..12]}: Pushed");
            }
            finally
            {
                File.Delete(staged);
            }
        });

    /// <summary>Blobs of local images known to be in another repository of the target's registry (from their RepoDigests).</summary>
    private async Task<Dictionary<Digest, string>> MountSourcesAsync(ImageReference target, CancellationToken cancellationToken)
    {
        var sources = new Dictionary<Digest, string>();
        foreach (var other in await images.ListAsync(cancellationToken))
        {
            var repositories = (other.RepoDigests ?? [])
                .Select(d => ImageReference.TryParse(d, out var r, out _) ? r : null)
                .Where(r => r is not null && r.Registry == target.Registry && r.Repository != target.Repository)
                .Select(r => r!.Repository)
                .ToList();
            if (repositories.Count == 0 || !await store.ExistsAsync(Digest.Parse(other.ManifestDigest), cancellationToken)) continue;
            var manifest = ImageManifest.Parse(await StoredImage.ReadAllAsync(store, Digest.Parse(other.ManifestDigest), cancellationToken));
            foreach (var layer in manifest.Layers) sources.TryAdd(layer.ParsedDigest, repositories[0]);
        }
        return sources;
    }
}
