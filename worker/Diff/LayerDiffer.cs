using BuildFarm.Cache;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Worker.Diff;

/// <summary>
/// Turns a step's upper directory into a stored layer blob: the oci library writes the deterministic tar
/// (overlay whiteouts become <c>.wh.</c> entries, sorted, no atime/ctime) and compresses it while computing the
/// blob digest and the diff id in the same pass; the blob then goes to the content store.
/// </summary>
public sealed class LayerDiffer(IContentStore store, string scratchDirectory)
{
    public async Task<CompressedLayer> DiffAsync(string upperDirectory, LayerCompression compression, DateTimeOffset? sourceDateEpoch, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratchDirectory);
        var temp = Path.Combine(scratchDirectory, $"layer-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            CompressedLayer layer;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                layer = await LayerCompressor.CompressDirectoryAsync(upperDirectory, file, compression, WhiteoutTranslation.Overlay,
                    new LayerWriterOptions { SourceDateEpoch = sourceDateEpoch }, cancellationToken);
            }
            await using (var blob = File.OpenRead(temp))
                await store.PutAsync(blob, layer.Digest, cancellationToken);
            return layer;
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
