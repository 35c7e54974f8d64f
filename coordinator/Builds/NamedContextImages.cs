using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// <c>--build-context NAME=DIR</c> and <c>NAME=oci-layout://PATH[@digest|:tag]</c> as images in the content store, so that
/// <c>FROM NAME</c> and <c>COPY --from=NAME</c> use them as any base image: a folder becomes a one-layer image of its
/// tree (times fixed, so its manifest digest — the key of what uses it — changes only with contents, modes and owners);
/// an OCI layout's image (the platform's, from an index) is copied into the store.
/// </summary>
public sealed class NamedContextImages(IContentStore store, BaseImageResolver bases, string scratch)
{
    /// <summary>The reference the planner gets for a named context that is a folder or a layout (not an image name).</summary>
    public static string ReferenceOf(string name) => "context://" + name;

    public static bool IsContextReference(string reference) => reference.StartsWith("context://", StringComparison.Ordinal);

    public async Task<ResolvedImage> ResolveAsync(string reference, string value, Platform platform, CancellationToken cancellationToken)
    {
        const string layoutScheme = "oci-layout://";
        return value.StartsWith(layoutScheme, StringComparison.Ordinal)
            ? await FromLayoutAsync(reference, value[layoutScheme.Length..], platform, cancellationToken)
            : await FromDirectoryAsync(reference, value, platform, cancellationToken);
    }

    private async Task<ResolvedImage> FromDirectoryAsync(string reference, string directory, Platform platform, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
            throw new NamedContextException($"build context {reference[10..]}: {directory} is not a directory");
        Directory.CreateDirectory(scratch);
        var temp = Path.Combine(scratch, $"named-context-{Guid.NewGuid():N}.tar.gz");
        try
        {
            CompressedLayer layer;
            // BuildKit sends a named folder with its own .dockerignore's patterns excluded (dockerui's NamedContext).
            var entries = DirectoryLayerSource.Read(directory, WhiteoutTranslation.None, cancellationToken);
            if (await NamedContextIgnore.LoadAsync(reference[10..], directory, cancellationToken) is { } ignore)
                entries = NamedContextIgnore.Filter(entries, ignore);
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0))
            {
                layer = await LayerCompressor.CompressEntriesAsync(entries, file, LayerCompression.Gzip,
                    new LayerWriterOptions { FixedModificationTime = DateTimeOffset.UnixEpoch, IncludeXattrs = false }, cancellationToken);
            }
            await using (var blob = File.OpenRead(temp))
                await store.PutAsync(blob, layer.Digest, cancellationToken);
            var config = new ImageConfig
            {
                Architecture = platform.Architecture,
                Os = platform.Os,
                Variant = platform.Variant,
                RootFs = new RootFs { DiffIds = [layer.DiffId.ToString()] },
                // one entry for its layer, as BuildKit's image of a local context has
                History = [new HistoryEntry { CreatedBy = $"named context {reference[10..]}" }],
            };
            var configBytes = config.ToJson();
            var configDigest = await store.PutAsync(new MemoryStream(configBytes, writable: false), null, cancellationToken);
            var manifest = new ImageManifest
            {
                Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configBytes.Length },
                Layers = [layer.Descriptor],
            };
            var document = ManifestDocument.From(manifest);
            await store.PutAsync(new MemoryStream(document.Bytes, writable: false), document.Digest, cancellationToken);
            return await bases.TryLoadAsync(reference, document.Digest.ToString(), cancellationToken)
                   ?? throw new NamedContextException($"build context {reference}: stored but cannot be read back");
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private async Task<ResolvedImage> FromLayoutAsync(string reference, string value, Platform platform, CancellationToken cancellationToken)
    {
        // PATH@sha256:… names a manifest (or index) by digest, PATH:tag by its ref name; PATH alone its only image.
        string path = value, tag = "";
        Digest? digest = null;
        var at = value.LastIndexOf('@');
        if (at > 0)
        {
            path = value[..at];
            digest = Digest.TryParse(value[(at + 1)..], out var parsed) ? parsed
                : throw new NamedContextException($"build context {reference[10..]}: '{value[(at + 1)..]}' is not a digest");
        }
        else if (value.LastIndexOf(':') is var colon and > 0 && !value[(colon + 1)..].Contains('/'))
        {
            path = value[..colon];
            tag = value[(colon + 1)..];
        }
        if (!File.Exists(Path.Combine(path, OciLayout.LayoutFileName)))
            throw new NamedContextException($"build context {reference[10..]}: {path} is not an OCI layout (no {OciLayout.LayoutFileName} file)");
        var layout = await OciLayout.OpenAsync(path, cancellationToken);
        Descriptor descriptor;
        if (digest is { } wanted)
        {
            descriptor = (await layout.ReadIndexAsync(cancellationToken)).Manifests.FirstOrDefault(m => m.Digest == wanted.ToString())
                         ?? (layout.HasBlob(wanted) ? new Descriptor { Digest = wanted.ToString(), MediaType = MediaTypes.OciManifest, Size = new FileInfo(layout.BlobPath(wanted)).Length }
                             : throw new NamedContextException($"build context {reference[10..]}: the layout at {path} has no blob {wanted}"));
        }
        else
        {
            descriptor = await layout.ResolveAsync(tag.Length > 0 ? tag : null, cancellationToken);
        }
        // the document's own mediaType decides (a digest outside index.json comes with a guessed descriptor)
        var document = ManifestDocument.FromBytes(await layout.ReadBlobAsync(descriptor, cancellationToken), descriptor.MediaType);
        if (document.IsIndex)
        {
            descriptor = document.ParseIndex().SelectPlatform(platform);
            document = ManifestDocument.FromBytes(await layout.ReadBlobAsync(descriptor, cancellationToken), descriptor.MediaType);
        }
        var manifest = document.ParseManifest();
        foreach (var blob in manifest.Layers.Append(manifest.Config))
        {
            if (await store.ExistsAsync(blob.ParsedDigest, cancellationToken)) continue;
            await using var stream = layout.OpenBlob(blob);
            await store.PutAsync(stream, blob.ParsedDigest, cancellationToken);
        }
        // The manifest last: a stored manifest means every blob it names is stored too.
        await store.PutAsync(new MemoryStream(document.Bytes, writable: false), document.Digest, cancellationToken);
        return await bases.TryLoadAsync(reference, document.Digest.ToString(), cancellationToken)
               ?? throw new NamedContextException($"build context {reference}: stored but cannot be read back");
    }
}
