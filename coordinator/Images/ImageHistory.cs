using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Images;

/// <summary>Pairs an image's history entries with the layers they made (entries without <c>empty_layer</c> take the
/// next layer in order, as the image spec says). A layer counts as made here when a step record of the cache holds it.</summary>
public static class ImageHistory
{
    public static async Task<IReadOnlyList<ImageHistoryLine>> ReadAsync(StoredImage image, IStepRecordIndex records, CancellationToken cancellationToken)
    {
        var madeHere = new HashSet<Digest>();
        await foreach (var entry in records.ListAsync(cancellationToken))
            madeHere.UnionWith(entry.Record.ReferencedBlobs);
        var layers = image.Manifest.Layers;
        var history = image.Config.History is { Count: > 0 } h
            ? h
            : [.. layers.Select(_ => new HistoryEntry())]; // no history: one anonymous entry per layer
        var lines = new List<ImageHistoryLine>();
        var next = 0;
        foreach (var entry in history)
        {
            Descriptor? layer = entry.EmptyLayer == true || next >= layers.Count ? null : layers[next++];
            var created = entry.Created is { } text && ImageConfig.TryParseTime(text, out var time) ? time : (DateTimeOffset?)null;
            lines.Add(new ImageHistoryLine(
                layer is not null && madeHere.Contains(layer.ParsedDigest) ? layer.Digest : null,
                created, entry.CreatedBy ?? "", layer?.Size ?? 0, entry.Comment ?? ""));
        }
        lines.Reverse();
        return lines;
    }
}
