using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Export;

/// <summary>Writes what a build made where <c>--output</c>/<c>--push</c> ask: OCI archive, Docker archive, a folder, a tar of
/// the filesystem, registries. One path for a single image and a multi-platform index: an OCI layout and a push carry
/// the index (a manifest per platform), a folder or tar holds a folder per platform ("linux_arm64/"), as buildx's.</summary>
public sealed class ImageOutputs(IContentStore store, string scratch, Func<RegistryClient> registry)
{
    /// <summary>An OCI image layout as a tar (<c>skopeo inspect oci-archive:FILE</c>): index.json names the image or the
    /// index, each tag a ref name.</summary>
    /// <param name="staged">Where a blob already sits as a file (<see cref="LayerPrepush.StagedBlobPath"/>): linked, not copied.</param>
    public async Task WriteOciArchiveAsync(ExportedBuild build, string destination, IReadOnlyList<string> names, CancellationToken cancellationToken,
        Func<Digest, string?>? staged = null)
    {
        var dir = NewScratchDirectory("oci");
        try
        {
            var layout = await StageLayoutAsync(build, dir, names, cancellationToken, staged);
            await WriteAtomicallyAsync(destination, stream => layout.WriteTarAsync(stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The archive <c>docker load</c> reads: uncompressed layer tars, config, manifest.json with the tags. Of a
    /// multi-platform build every platform's image goes in (one manifest.json entry each), the tags on
    /// <paramref name="tagged"/>'s only — a name can point at one image there.
    /// </summary>
    public async Task WriteDockerArchiveAsync(ExportedBuild build, Platform tagged, string destination, IReadOnlyList<string> names,
        CancellationToken cancellationToken)
    {
        var chosen = build.Images.FirstOrDefault(i => i.Platform.Matches(tagged)) ?? build.Images[0];
        var dir = NewScratchDirectory("docker");
        try
        {
            var archives = new List<DockerArchiveImage>();
            foreach (var one in build.Images)
            {
                var tars = new List<string>();
                foreach (var layer in one.Image.Manifest.Layers)
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
                    ConfigBytes = one.Image.ConfigBytes,
                    LayerTarPaths = tars,
                    RepoTags = one == chosen ? [.. names.Select(DockerTag)] : [],
                });
            }
            await WriteAtomicallyAsync(destination, stream => DockerArchiveWriter.WriteAsync(archives, stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The filesystem, unpacked into a folder (<c>type=local</c>); with several platforms one folder each
    /// ("linux_arm64") under it, as buildx's local exporter.</summary>
    public async Task WriteLocalAsync(ExportedBuild build, string destination, CancellationToken cancellationToken)
    {
        foreach (var one in build.Images)
            await WriteLocalAsync(one.Image, build.Index is null ? destination : Path.Combine(destination, one.Platform.ToString().Replace('/', '_')),
                cancellationToken);
    }

    private async Task WriteLocalAsync(ExportedImage image, string destination, CancellationToken cancellationToken)
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
    /// The filesystem as one tar (<c>type=tar</c>, as buildx: the tree type=local writes): the layers applied in a scratch
    /// folder, then written in sorted order with their owners, modes, times, links and xattrs (a served <c>type=local</c>
    /// travels this way).
    /// </summary>
    public async Task WriteFilesystemTarAsync(ExportedBuild build, string destination, CancellationToken cancellationToken)
    {
        var dir = NewScratchDirectory("rootfs");
        try
        {
            await WriteLocalAsync(build, dir, cancellationToken);
            var entries = DirectoryLayerSource.Read(dir, WhiteoutTranslation.None, cancellationToken);
            await WriteAtomicallyAsync(destination, stream => new LayerTarWriter().WriteAsync(entries, stream, cancellationToken), cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Pushes blobs (every platform's, and its manifest by digest) then the image or index to every name;
    /// returns the digests the registries acknowledged.</summary>
    public Task<IReadOnlyList<Descriptor>> PushAsync(ExportedBuild build, IReadOnlyList<string> names, CancellationToken cancellationToken,
        Func<Digest, string?>? staged = null) =>
        PushAsync(build, names, registry(), cancellationToken, staged);

    /// <summary>Pushes with the given client (a served build's own, holding only the credentials its client sent).</summary>
    /// <param name="staged">Where a blob already sits as a file (<see cref="LayerPrepush.StagedBlobPath"/>): linked into the
    /// push's layout instead of copied from the store again.</param>
    public async Task<IReadOnlyList<Descriptor>> PushAsync(ExportedBuild build, IReadOnlyList<string> names, RegistryClient client,
        CancellationToken cancellationToken, Func<Digest, string?>? staged = null)
    {
        if (names.Count == 0) throw new InvalidOperationException("--push needs at least one -t NAME to push to");
        var dir = NewScratchDirectory("push");
        try
        {
            var layout = await StageLayoutAsync(build, dir, [], cancellationToken, staged);
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

    private async Task<OciLayout> StageLayoutAsync(ExportedBuild build, string dir, IReadOnlyList<string> names, CancellationToken cancellationToken,
        Func<Digest, string?>? staged = null)
    {
        var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
        foreach (var one in build.Images)
        {
            var image = one.Image;
            foreach (var blob in image.Manifest.Layers.Prepend(image.Manifest.Config))
            {
                if (layout.HasBlob(blob.ParsedDigest)) continue; // a layer two platforms share (COPY of the same files)
                if (staged?.Invoke(blob.ParsedDigest) is { } stagedPath && TryHardLink(stagedPath, layout.BlobPath(blob.ParsedDigest)))
                    continue; // already written and verified beside: a hard link, not a second copy of the layer
                await using var stream = await store.OpenAsync(blob.ParsedDigest, cancellationToken);
                await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
            }
            // an index's manifests are blobs the index names; a single image's manifest is the top document below
            if (build.Index is not null)
                await layout.WriteBlobAsync(new MemoryStream(image.ManifestBytes, writable: false), MediaTypes.OciManifest, null, cancellationToken);
        }
        var document = build.Document;
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

    /// <summary>A hard link (a plain file to whoever walks the layout, as a tar of it must see); false where the file
    /// system refuses one, and the blob is copied instead.</summary>
    private static bool TryHardLink(string existing, string created)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(created)!);
            Oci.Native.Posix.Link(existing, created);
            return true;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            return false;
        }
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
