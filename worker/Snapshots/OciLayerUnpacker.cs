using BuildFarm.Oci.Layers;

namespace BuildFarm.Worker.Snapshots;

/// <summary>Unpacks layer blobs with the oci library's applier in overlay form, and checks the diff id.</summary>
/// <param name="trace">When set (BUILDFARM_TRACE=1), one line per layer saying where its unpack time went.</param>
public sealed class OciLayerUnpacker(TextWriter? trace = null) : ILayerUnpacker
{
    private readonly LayerApplier _applier = new(new LayerApplyOptions { Whiteouts = WhiteoutTranslation.Overlay });

    public async Task UnpackAsync(Stream blob, LayerRef layer, string targetDirectory, CancellationToken cancellationToken)
    {
        var stats = trace is null ? null : new LayerApplyStats();
        var diffId = await _applier.ApplyBlobAsync(blob, layer.Blob.MediaType, targetDirectory, stats, cancellationToken);
        if (stats is not null) trace!.WriteLine($"trace: unpack {layer.Blob.Digest[..19]} applied in {stats.Describe()}");
        if (diffId != layer.DiffId)
            throw new InvalidDataException($"layer {layer.Blob.Digest} unpacked to diff id {diffId}, expected {layer.DiffId}");
    }
}
