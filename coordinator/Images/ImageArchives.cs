using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// <c>save</c>/<c>load</c>: local images to and from a Docker archive (what <c>docker save</c> writes and
/// <c>docker load</c> reads; several images in one file) or an OCI image layout tar (one index entry per name). Image
/// IDs (config digests) survive the round trip; layers are stored gzip-compressed when a Docker archive is loaded.
/// </summary>
public sealed class ImageArchives(IContentStore store, LocalImageStore images, string scratch)
{
    private const string ContainerdNameAnnotation = "io.containerd.image.name";

    public async Task SaveDockerAsync(IReadOnlyList<(string Requested, LocalImage Image)> selected, Stream destination, CancellationToken cancellationToken)
    {
        var dir = NewScratch("save");
        try
        {
            var tars = new Dictionary<Digest, string>();
            var archive = new List<DockerArchiveImage>();
            // One archive entry per image ID, with every name the user asked for.
            foreach (var group in selected.GroupBy(s => s.Image.ConfigDigest))
            {
                var image = await StoredImage.ReadAsync(store, group.First().Image, cancellationToken);
                var paths = new List<string>();
                foreach (var layer in image.Manifest.Layers)
                {
                    if (!tars.TryGetValue(layer.ParsedDigest, out var path))
                    {
                        path = Path.Combine(dir, layer.ParsedDigest.Hex + ".tar");
                        await using (var blob = await store.OpenAsync(layer.ParsedDigest, cancellationToken))
                        await using (var tar = LayerCompressor.OpenDecompressed(blob, layer.MediaType))
                        await using (var file = File.Create(path))
                            await tar.CopyToAsync(file, cancellationToken);
                        tars[layer.ParsedDigest] = path;
                    }
                    paths.Add(path);
                }
                var tags = group.Where(s => IsTagName(s.Requested, s.Image)).Select(s => s.Image.Name).Distinct().ToList();
                archive.Add(new DockerArchiveImage { ConfigBytes = image.ConfigBytes, LayerTarPaths = paths, RepoTags = tags });
            }
            await DockerArchiveWriter.WriteAsync(archive, destination, cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public async Task SaveOciAsync(IReadOnlyList<(string Requested, LocalImage Image)> selected, Stream destination, CancellationToken cancellationToken)
    {
        var dir = NewScratch("save-oci");
        try
        {
            var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
            foreach (var (requested, local) in selected)
            {
                // A multi-platform image goes whole: every platform's manifest, and index.json names its index.
                var set = await StoredImageSet.ReadAsync(store, local, cancellationToken);
                foreach (var (_, image) in set.Images)
                {
                    foreach (var blob in image.Manifest.Layers.Prepend(image.Manifest.Config))
                    {
                        if (layout.HasBlob(blob.ParsedDigest)) continue;
                        await using var stream = await store.OpenAsync(blob.ParsedDigest, cancellationToken);
                        await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
                    }
                    if (set.IndexBytes is not null)
                        await layout.WriteBlobAsync(new MemoryStream(image.ManifestBytes, writable: false), image.Manifest.MediaType ?? MediaTypes.OciManifest, null, cancellationToken);
                }
                var top = set.Images[0].Image;
                var document = set.IndexBytes is { } indexBytes
                    ? ManifestDocument.FromBytes(indexBytes, MediaTypes.OciIndex)
                    : ManifestDocument.FromBytes(top.ManifestBytes, top.Manifest.MediaType);
                await layout.AddManifestAsync(document, IsTagName(requested, local) ? local.Name : null, null, cancellationToken);
            }
            await layout.WriteTarAsync(destination, cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Loads every image of a Docker archive or an OCI layout tar; returns the names given (an untagged image is
    /// named by its manifest digest).</summary>
    public async Task<IReadOnlyList<LocalImage>> LoadAsync(Stream archive, Platform platform, CancellationToken cancellationToken)
    {
        var dir = NewScratch("load");
        try
        {
            await new LayerApplier(new LayerApplyOptions { PreserveOwnership = false, ApplyXattrs = false }).ApplyAsync(archive, dir, cancellationToken);
            if (File.Exists(Path.Combine(dir, "manifest.json")))
                return await LoadDockerAsync(dir, cancellationToken);
            if (File.Exists(Path.Combine(dir, OciLayout.LayoutFileName)))
                return await LoadOciAsync(await OciLayout.OpenAsync(dir, cancellationToken), platform, cancellationToken);
            throw new InvalidOciDocumentException("the archive has neither manifest.json (docker save) nor oci-layout (OCI image layout)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<IReadOnlyList<LocalImage>> LoadDockerAsync(string dir, CancellationToken cancellationToken)
    {
        var layout = await OciLayout.OpenOrCreateAsync(Path.Combine(dir, ".converted"), cancellationToken);
        var loaded = new List<LocalImage>();
        foreach (var image in await DockerArchiveReader.ReadDirectoryAsync(dir, cancellationToken))
        {
            var descriptor = await DockerArchiveReader.ImportAsync(image, layout, null, LayerCompression.Gzip, cancellationToken);
            IReadOnlyList<string?> names = image.RepoTags.Count > 0 ? [.. image.RepoTags] : [(string?)null];
            foreach (var name in names)
                loaded.Add(await StoreAsync(layout, descriptor, name, null, cancellationToken));
        }
        return loaded;
    }

    private async Task<IReadOnlyList<LocalImage>> LoadOciAsync(OciLayout layout, Platform platform, CancellationToken cancellationToken)
    {
        var loaded = new List<LocalImage>();
        foreach (var entry in (await layout.ReadIndexAsync(cancellationToken)).Manifests)
        {
            var descriptor = entry;
            var document = await layout.ReadManifestAsync(entry, cancellationToken);
            if (!document.IsIndex)
            {
                loaded.Add(await StoreAsync(layout, descriptor, NameOf(entry), null, cancellationToken));
                continue;
            }
            var index = document.ParseIndex();
            descriptor = index.SelectPlatform(platform);
            // An index whose every image is in the archive (what save --format oci and buildx's oci exporter write) is
            // kept whole, each platform stored; one with images left out (a single platform copied) keeps this host's.
            var whole = index.Manifests.All(m => MediaTypes.IsManifest(m.MediaType) && layout.HasBlob(m.ParsedDigest));
            if (whole)
            {
                foreach (var other in index.Manifests.Where(m => m.Digest != descriptor.Digest))
                    await StoreBlobsAsync(layout, other, cancellationToken);
            }
            loaded.Add(await StoreAsync(layout, descriptor, NameOf(entry), whole ? document : null, cancellationToken));
        }
        return loaded;
    }

    // One image's layers and config, then its manifest last: a stored manifest means every blob it names is stored too.
    private async Task<(ManifestDocument Document, ImageManifest Manifest)> StoreBlobsAsync(OciLayout layout, Descriptor descriptor,
        CancellationToken cancellationToken)
    {
        var document = await layout.ReadManifestAsync(descriptor, cancellationToken);
        var manifest = document.ParseManifest();
        foreach (var blob in manifest.Layers.Append(manifest.Config))
        {
            if (await store.ExistsAsync(blob.ParsedDigest, cancellationToken)) continue;
            await using var stream = layout.OpenBlob(blob);
            await store.PutAsync(stream, blob.ParsedDigest, cancellationToken);
        }
        await store.PutAsync(new MemoryStream(document.Bytes, writable: false), document.Digest, cancellationToken);
        return (document, manifest);
    }

    /// <param name="index">The index to name too (after every platform's image was stored), or null for one image.</param>
    private async Task<LocalImage> StoreAsync(OciLayout layout, Descriptor descriptor, string? name, ManifestDocument? index,
        CancellationToken cancellationToken)
    {
        var (document, manifest) = await StoreBlobsAsync(layout, descriptor, cancellationToken);
        if (index is not null) await store.PutAsync(new MemoryStream(index.Bytes, writable: false), index.Digest, cancellationToken);
        name = name is null ? null : Familiar(name);
        var image = new LocalImage
        {
            Name = name ?? document.Digest.ToString(),
            ManifestDigest = document.Digest.ToString(),
            ConfigDigest = manifest.Config.Digest,
            IndexDigest = index?.Digest.ToString(),
            Size = manifest.Layers.Sum(l => l.Size),
            Created = DateTimeOffset.UtcNow,
        };
        await images.TagAsync(image, cancellationToken);
        return image with { Name = name is null ? image.Name : LocalImageStore.Normalize(name) };
    }

    /// <summary>The name of an OCI index entry: containerd's full-name annotation, else a ref name that is a whole image
    /// reference (a bare tag such as "latest", as BuildKit writes, names no repository: the image stays untagged).</summary>
    private static string? NameOf(Descriptor entry)
    {
        if (entry.Annotations?.GetValueOrDefault(ContainerdNameAnnotation) is { Length: > 0 } full) return full;
        var refName = entry.Annotations?.GetValueOrDefault(OciLayout.RefNameAnnotation);
        return refName is not null && (refName.Contains('/') || refName.Contains(':')) && !refName.Contains('@')
               && ImageReference.TryParse(refName, out _, out _) ? refName : null;
    }

    /// <summary>The short form docker shows: "docker.io/library/busybox:1" is "busybox:1" (skopeo writes the long form).</summary>
    private static string Familiar(string name)
    {
        const string hub = ImageReference.DockerHub + "/";
        if (!name.StartsWith(hub, StringComparison.Ordinal)) return name;
        name = name[hub.Length..];
        return name.StartsWith("library/", StringComparison.Ordinal) && name.IndexOf('/', 8) < 0 ? name[8..] : name;
    }

    // A Docker archive's RepoTags hold repo:tag names; an image asked for by ID, or pulled by digest, has none.
    private static bool IsTagName(string requested, LocalImage image) =>
        !image.Name.Contains('@') && !image.Name.StartsWith("sha256:", StringComparison.Ordinal)
        && LocalImageStore.Normalize(requested) == image.Name;

    private string NewScratch(string kind)
    {
        var dir = Path.Combine(scratch, $"{kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
