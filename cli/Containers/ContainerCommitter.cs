using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Cli.Containers;

/// <summary>
/// <c>commit</c>: a container's writable layer (overlay whiteouts become OCI <c>.wh.</c> entries) becomes one more layer
/// on its image, with a history entry naming the container's command; the container's output is not part of it (it
/// was never written into the container's filesystem).
/// </summary>
public sealed class ContainerCommitter(IContentStore store, LocalImageStore images, string scratch)
{
    public async Task<LocalImage> CommitAsync(ContainerRecord container, string upper, string name, string? author, string? message,
        IReadOnlyList<string> changes, CancellationToken cancellationToken)
    {
        var source = new LocalImage { Name = container.Image, ManifestDigest = container.ManifestDigest, ConfigDigest = container.ImageId };
        var image = await StoredImage.ReadAsync(store, source, cancellationToken);
        var docker = image.Manifest.MediaType == MediaTypes.DockerManifest;

        Directory.CreateDirectory(scratch);
        var temp = Path.Combine(scratch, $"commit-{Guid.NewGuid():N}");
        CompressedLayer layer;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                layer = await LayerCompressor.CompressDirectoryAsync(upper, file, LayerCompression.Gzip, WhiteoutTranslation.Overlay, new LayerWriterOptions(), cancellationToken);
            await using (var blob = File.OpenRead(temp))
                await store.PutAsync(blob, layer.Digest, cancellationToken);
        }
        finally
        {
            File.Delete(temp);
        }

        var now = ImageConfig.FormatTime(DateTimeOffset.UtcNow);
        var config = image.Config with
        {
            Created = now,
            Author = author ?? image.Config.Author,
            Config = CommitChanges.Apply(container.Config ?? image.Config.Config ?? new ContainerConfig(), changes),
            RootFs = image.Config.RootFs with { DiffIds = [.. image.Config.RootFs.DiffIds, layer.DiffId.ToString()] },
            History = [.. image.Config.History ?? [], new HistoryEntry
            {
                Created = now,
                CreatedBy = string.Join(' ', container.Command),
                Author = author,
                Comment = message,
            }],
        };
        var configBytes = config.ToJson();
        var configDigest = await store.PutAsync(new MemoryStream(configBytes, writable: false), null, cancellationToken);
        var layerDescriptor = layer.Descriptor with { MediaType = docker ? MediaTypes.DockerLayerGzip : layer.Descriptor.MediaType };
        var manifest = image.Manifest with
        {
            Config = image.Manifest.Config with { Digest = configDigest.ToString(), Size = configBytes.Length },
            Layers = [.. image.Manifest.Layers, layerDescriptor],
        };
        var document = ManifestDocument.From(manifest);
        await store.PutAsync(new MemoryStream(document.Bytes, writable: false), document.Digest, cancellationToken);
        var committed = new LocalImage
        {
            Name = name,
            ManifestDigest = document.Digest.ToString(),
            ConfigDigest = configDigest.ToString(),
            Size = manifest.Layers.Sum(l => l.Size),
            Created = DateTimeOffset.UtcNow,
        };
        await images.TagAsync(committed, cancellationToken);
        return committed;
    }
}
