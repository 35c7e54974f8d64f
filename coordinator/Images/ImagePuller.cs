using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// <c>pull</c>: fetches an image's manifest for one platform and only the blobs the content store lacks (reporting
/// "Already exists" or "Pull complete" per layer, as docker pull does), then names it in the local image store. A
/// reference by digest is verified by the registry client (the bytes must hash to it).
/// </summary>
public sealed class ImagePuller(IContentStore store, RegistryClient client, LocalImageStore images)
{
    public async Task<LocalImage> PullAsync(string text, Platform platform, IProgress<string> status, CancellationToken cancellationToken)
    {
        var reference = ImageReference.Parse(text);
        status.Report($"{reference.Reference}: Pulling from {reference.Repository}");
        var (manifestDocument, index) = await client.GetImageManifestAsync(reference, platform, cancellationToken);
        var manifest = manifestDocument.ParseManifest();
        // Layers download side by side (as docker pull does), each streamed straight into the store.
        await Parallel.ForEachAsync(manifest.Layers.DistinctBy(l => l.Digest),
            new ParallelOptions { MaxDegreeOfParallelism = BaseImageResolver.ParallelDownloads, CancellationToken = cancellationToken },
            async (layer, token) =>
            {
                var shortId = layer.ParsedDigest.Hex[..12];
                if (await store.ExistsAsync(layer.ParsedDigest, token))
                {
                    status.Report($"{shortId}: Already exists");
                    return;
                }
                await using (var stream = await client.OpenBlobAsync(reference, layer, token))
                    await store.PutAsync(stream, layer.ParsedDigest, token);
                status.Report($"{shortId}: Pull complete");
            });
        if (!await store.ExistsAsync(manifest.Config.ParsedDigest, cancellationToken))
        {
            await using var stream = await client.OpenBlobAsync(reference, manifest.Config, cancellationToken);
            await store.PutAsync(stream, manifest.Config.ParsedDigest, cancellationToken);
        }
        // The manifest goes last: a stored manifest means every blob it names is stored too.
        await store.PutAsync(new MemoryStream(manifestDocument.Bytes, writable: false), manifestDocument.Digest, cancellationToken);

        // Docker names a pulled image by the digest the user could pull again: the index's when there is one.
        var top = (index ?? manifestDocument).Digest;
        status.Report($"Digest: {top}");
        var name = reference.Digest is null ? LocalImageStore.Normalize(text) : text;
        var before = await images.FindAsync(name, cancellationToken);
        var image = new LocalImage
        {
            Name = name,
            ManifestDigest = manifestDocument.Digest.ToString(),
            ConfigDigest = manifest.Config.Digest,
            Size = manifest.Layers.Sum(l => l.Size),
            Created = DateTimeOffset.UtcNow,
            RepoDigests = [$"{RepositoryOf(text)}@{top}"],
        };
        var upToDate = before?.ManifestDigest == image.ManifestDigest && before.Name == name;
        await images.TagAsync(upToDate ? before! with { RepoDigests = MergeRepoDigests(before!, image) } : image, cancellationToken);
        status.Report(upToDate ? $"Status: Image is up to date for {name}" : $"Status: Downloaded newer image for {name}");
        return image;
    }

    /// <summary>The repository part of a name as the user wrote it ("127.0.0.1:5000/a/b:1" → "127.0.0.1:5000/a/b").</summary>
    public static string RepositoryOf(string name)
    {
        var at = name.IndexOf('@');
        if (at >= 0) name = name[..at];
        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        return colon > slash ? name[..colon] : name;
    }

    private static IReadOnlyList<string> MergeRepoDigests(LocalImage before, LocalImage now) =>
        [.. (before.RepoDigests ?? []).Concat(now.RepoDigests ?? []).Distinct().Order(StringComparer.Ordinal)];
}
