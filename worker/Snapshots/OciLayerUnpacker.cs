using BuildFarm.Oci.Layers;

namespace BuildFarm.Worker.Snapshots;

/// <summary>Unpacks layer blobs with the oci library's applier in overlay form, and checks the diff id.</summary>
public sealed class OciLayerUnpacker : ILayerUnpacker
{
    private readonly LayerApplier _applier = new(new LayerApplyOptions { Whiteouts = WhiteoutTranslation.Overlay });

    public async Task UnpackAsync(Stream blob, LayerRef layer, string targetDirectory, CancellationToken cancellationToken)
    {
        var diffId = await _applier.ApplyBlobAsync(blob, layer.Blob.MediaType, targetDirectory, cancellationToken);
        if (diffId != layer.DiffId)
            throw new InvalidDataException($"layer {layer.Blob.Digest} unpacked to diff id {diffId}, expected {layer.DiffId}");
    }
}
