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
    // Read once by the step that made the layer (TakeUpload); bounded in case a caller never reads its own.
    private const int MaxTimings = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UploadTiming> _uploads = new(StringComparer.Ordinal);

    /// <summary>The upload time of a layer this differ stored, once (the entry is removed); null when unknown.</summary>
    public UploadTiming? TakeUpload(string blobDigest) => _uploads.TryRemove(blobDigest, out var timing) ? timing : null;

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
            var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await using (var blob = File.OpenRead(temp))
                await store.PutAsync(blob, layer.Digest, cancellationToken);
            if (_uploads.Count >= MaxTimings) _uploads.Clear();
            _uploads[layer.Digest.ToString()] = new UploadTiming(started, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return layer;
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
