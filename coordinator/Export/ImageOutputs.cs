using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Export;

/// <summary>Writes an assembled image where <c>--output</c>/<c>--push</c> ask: OCI archive, Docker archive, a folder, a tar of
/// the filesystem, registries.</summary>
public sealed class ImageOutputs(IContentStore store, string scratch, Func<RegistryClient> registry)
{
    /// <summary>An OCI image layout as a tar (<c>skopeo inspect oci-archive:FILE</c>); each tag becomes a ref name.</summary>
    public async Task WriteOciArchiveAsync(ExportedImage image, string destination, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("oci");
        try
        {
            var layout = await StageLayoutAsync(image, dir, names, cancellationToken);
            await WriteAtomicallyAsync(destination, stream => layout.WriteTarAsync(stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A multi-platform OCI layout tar: index.json names the image index (each tag a ref name), the index names a
    /// manifest per platform.</summary>
    public async Task WriteOciArchiveAsync(ExportedIndex index, string destination, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("oci");
        try
        {
            var layout = await StageIndexLayoutAsync(index, dir, names, cancellationToken);
            await WriteAtomicallyAsync(destination, stream => layout.WriteTarAsync(stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Each platform's filesystem in a folder of its own ("linux_arm64/…") in one tar, as buildx's tar exporter.</summary>
    public async Task WriteFilesystemTarAsync(ExportedIndex index, string destination, CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("rootfs");
        try
        {
            foreach (var one in index.Images)
                await WriteLocalAsync(one.Image, Path.Combine(dir, one.Platform.ToString().Replace('/', '_')), cancellationToken);
            var entries = DirectoryLayerSource.Read(dir, WhiteoutTranslation.None, cancellationToken);
            await WriteAtomicallyAsync(destination, stream => new LayerTarWriter().WriteAsync(entries, stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Pushes every platform's blobs and manifest by digest, then the index under each name.</summary>
    public Task<IReadOnlyList<Descriptor>> PushAsync(ExportedIndex index, IReadOnlyList<string> names, CancellationToken cancellationToken) =>
        PushAsync(index, names, registry(), cancellationToken);

    public async Task<IReadOnlyList<Descriptor>> PushAsync(ExportedIndex index, IReadOnlyList<string> names, RegistryClient client,
        CancellationToken cancellationToken)
    {
        if (names.Count == 0) throw new InvalidOperationException("--push needs at least one -t NAME to push to");
        var dir = NewScratchDirectory("push");
        try
        {
            var layout = await StageIndexLayoutAsync(index, dir, [], cancellationToken);
            var top = await layout.ResolveAsync(null, cancellationToken);
            var pushed = new List<Descriptor>();
            foreach (var name in names)
                pushed.Add(await ImageCopier.PushAsync(client, layout, top, ImageReference.Parse(name), null, cancellationToken));
            return pushed;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<OciLayout> StageIndexLayoutAsync(ExportedIndex index, string dir, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
        foreach (var one in index.Images)
        {
            var image = one.Image;
            foreach (var blob in image.Manifest.Layers.Prepend(image.Manifest.Config))
            {
                if (layout.HasBlob(blob.ParsedDigest)) continue; // a layer two platforms share (COPY of the same files)
                await using var stream = await store.OpenAsync(blob.ParsedDigest, cancellationToken);
                await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
            }
            await layout.WriteBlobAsync(new MemoryStream(image.ManifestBytes, writable: false), MediaTypes.OciManifest, null, cancellationToken);
        }
        var document = new ManifestDocument(MediaTypes.OciIndex, index.IndexBytes);
        if (names.Count == 0)
            await layout.AddManifestAsync(document, null, null, cancellationToken);
        foreach (var name in names)
            await layout.AddManifestAsync(document, RefName(name), null, cancellationToken);
        return layout;
    }

    /// <summary>The archive <c>docker load</c> reads: uncompressed layer tars, config, manifest.json with the tags.</summary>
    public Task WriteDockerArchiveAsync(ExportedImage image, string destination, IReadOnlyList<string> names, CancellationToken cancellationToken) =>
        WriteDockerArchiveAsync([(image, names)], destination, cancellationToken);

    /// <summary>
    /// A multi-platform build as a docker archive: every platform's image (one manifest.json entry each, so <c>docker
    /// load</c> gets them all), the tags on <paramref name="tagged"/>'s only — a name can point at one image there.
    /// </summary>
    public Task WriteDockerArchiveAsync(ExportedIndex index, Platform tagged, string destination, IReadOnlyList<string> names,
        CancellationToken cancellationToken)
    {
        var chosen = index.Images.FirstOrDefault(i => i.Platform.Matches(tagged)) ?? index.Images[0];
        return WriteDockerArchiveAsync([.. index.Images.Select(i => (i.Image, i == chosen ? names : (IReadOnlyList<string>)[]))], destination, cancellationToken);
    }

    private async Task WriteDockerArchiveAsync(IReadOnlyList<(ExportedImage Image, IReadOnlyList<string> Names)> images, string destination,
        CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("docker");
        try
        {
            var archives = new List<DockerArchiveImage>();
            foreach (var (image, names) in images)
            {
                var tars = new List<string>();
                foreach (var layer in image.Manifest.Layers)
                {
                    var path = Path.Combine(dir, layer.ParsedDigest.Hex + ".tar");
                    tars.Add(path);
                    if (File.Exists(path)) continue; // a layer two platforms share
                    await using (var blob = await store.OpenAsync(layer.ParsedDigest, cancellationToken))
                    await using (var tar = LayerCompressor.OpenDecompressed(blob, layer.MediaType))
                    await using (var file = File.Create(path))
                        await tar.CopyToAsync(file, cancellationToken);
                }
                archives.Add(new DockerArchiveImage
                {
                    ConfigBytes = image.ConfigBytes,
                    LayerTarPaths = tars,
                    RepoTags = [.. names.Select(DockerTag)],
                });
            }
            await WriteAtomicallyAsync(destination, stream => DockerArchiveWriter.WriteAsync(archives, stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The image's filesystem, unpacked into a folder (<c>type=local</c>).</summary>
    public async Task WriteLocalAsync(ExportedImage image, string destination, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destination);
        var applier = new LayerApplier();
        foreach (var layer in image.Manifest.Layers)
        {
            await using var blob = await store.OpenAsync(layer.ParsedDigest, cancellationToken);
            await applier.ApplyBlobAsync(blob, layer.MediaType, destination, cancellationToken);
        }
    }

    /// <summary>
    /// The image's filesystem as one tar (<c>type=tar</c>, as buildx): the layers applied in a scratch folder, then written
    /// in sorted order with their owners, modes, times, links and xattrs (a served <c>type=local</c> travels this way).
    /// </summary>
    public async Task WriteFilesystemTarAsync(ExportedImage image, string destination, CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("rootfs");
        try
        {
            await WriteLocalAsync(image, dir, cancellationToken);
            var entries = DirectoryLayerSource.Read(dir, WhiteoutTranslation.None, cancellationToken);
            await WriteAtomicallyAsync(destination, stream => new LayerTarWriter().WriteAsync(entries, stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Pushes blobs then the manifest to every name; returns the digests the registries acknowledged.</summary>
    public Task<IReadOnlyList<Descriptor>> PushAsync(ExportedImage image, IReadOnlyList<string> names, CancellationToken cancellationToken) =>
        PushAsync(image, names, registry(), cancellationToken);

    /// <summary>Pushes with the given client (a served build's own, holding only the credentials its client sent).</summary>
    public async Task<IReadOnlyList<Descriptor>> PushAsync(ExportedImage image, IReadOnlyList<string> names, RegistryClient client,
        CancellationToken cancellationToken)
    {
        if (names.Count == 0) throw new InvalidOperationException("--push needs at least one -t NAME to push to");
        var dir = NewScratchDirectory("push");
        try
        {
            var layout = await StageLayoutAsync(image, dir, [], cancellationToken);
            var top = await layout.ResolveAsync(null, cancellationToken);
            var pushed = new List<Descriptor>();
            foreach (var name in names)
                pushed.Add(await ImageCopier.PushAsync(client, layout, top, ImageReference.Parse(name), null, cancellationToken));
            return pushed;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<OciLayout> StageLayoutAsync(ExportedImage image, string dir, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
        foreach (var blob in image.Manifest.Layers.Prepend(image.Manifest.Config))
        {
            await using var stream = await store.OpenAsync(blob.ParsedDigest, cancellationToken);
            await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
        }
        var document = new ManifestDocument(MediaTypes.OciManifest, image.ManifestBytes);
        if (names.Count == 0)
            await layout.AddManifestAsync(document, null, null, cancellationToken);
        foreach (var name in names)
            await layout.AddManifestAsync(document, RefName(name), null, cancellationToken);
        return layout;
    }

    // BuildKit's oci exporter names the image by its tag ("latest"), not the full reference.
    private static string RefName(string name) => ImageReference.TryParse(name, out var r, out _) ? r.Tag ?? r.Reference : name;

    private static string DockerTag(string name)
    {
        var slash = name.LastIndexOf('/');
        return name.IndexOf(':', slash + 1) >= 0 ? name : name + ":latest";
    }

    private string NewScratchDirectory(string kind)
    {
        var dir = Path.Combine(scratch, $"{kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static async Task WriteAtomicallyAsync(string destination, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(destination);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".{Environment.ProcessId}.tmp";
        try
        {
            await using (var file = File.Create(temp))
            {
                await write(file);
                await file.FlushAsync(cancellationToken);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
