using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>
/// Reads a BuildKit cache from an OCI layout (a <c>type=local</c> folder, or a registry cache pulled into one): the cache
/// manifest (an image manifest whose config is the cache config, or the older index listing layers and config), its
/// layers imported into the content store as blobs (digests verified), and the records that carry the farm's step record
/// written to the record index, so that the build's steps with those keys are hits. Records BuildKit wrote carry LLB
/// keys the farm never computes: their layers are imported, the records are counted and left.
/// </summary>
public sealed class CacheImporter(IContentStore store, IStepRecordIndex records)
{
    /// <param name="graphs">The build's graphs: records BuildKit wrote under its own keys are matched to their steps by the
    /// BuildKit digests on the graph's nodes (BuildKitKeys/), and imported under the steps' farm keys.</param>
    public async Task<CacheImportResult> ImportAsync(OciLayout layout, string tag, string where, CancellationToken cancellationToken,
        IReadOnlyList<BuildGraph>? graphs = null)
    {
        var top = await FindManifestAsync(layout, tag, where, cancellationToken);
        var document = await layout.ReadManifestAsync(top, cancellationToken);
        Descriptor configDescriptor;
        IReadOnlyList<Descriptor> layers;
        if (document.IsIndex)
        {
            var index = document.ParseIndex();
            configDescriptor = index.Manifests.FirstOrDefault(m => m.MediaType == CacheConfig.MediaType)
                ?? throw new InvalidCacheException($"{where}: the cache index {document.Digest} lists no {CacheConfig.MediaType} config");
            layers = [.. index.Manifests.Where(m => m.MediaType != CacheConfig.MediaType)];
        }
        else
        {
            var manifest = document.ParseManifest();
            if (manifest.Config.MediaType != CacheConfig.MediaType)
                throw new InvalidCacheException($"{where}: {document.Digest} is not a BuildKit cache: its config is a {manifest.Config.MediaType}, not {CacheConfig.MediaType}");
            configDescriptor = manifest.Config;
            layers = manifest.Layers;
        }
        var config = CacheConfig.Parse(await layout.ReadBlobAsync(configDescriptor, cancellationToken), where);

        var byDigest = layers.GroupBy(l => l.Digest).ToDictionary(g => g.Key, g => g.First());
        foreach (var layer in config.Layers ?? [])
            if (!byDigest.ContainsKey(layer.Blob))
                throw new InvalidCacheException($"{where}: the cache config names layer {layer.Blob}, which its manifest does not list");
        foreach (var layer in byDigest.Values)
        {
            if (!layout.HasBlob(layer.ParsedDigest))
                throw new InvalidCacheException($"{where}: layer {layer.Digest} is missing ({layout.BlobPath(layer.ParsedDigest)})");
            if (await store.ExistsAsync(layer.ParsedDigest, cancellationToken)) continue;
            await using var blob = layout.OpenBlob(layer);
            await store.PutAsync(blob, layer.ParsedDigest, cancellationToken);
        }

        int imported = 0, present = 0, foreign = 0;
        var checkedDiffIds = new HashSet<(string Layer, string DiffId)>();
        foreach (var (entry, i) in (config.Records ?? []).Select((r, i) => (r, i)))
        {
            if (entry.FarmRecord is not { } record)
            {
                foreign++;
                continue;
            }
            if (record.Key != entry.Digest || !Digest.TryParse(record.Key, out _))
                throw new InvalidCacheException($"{where}: cache record {i} is keyed {entry.Digest} but its {CacheConfigRecord.FarmRecordField} says {record.Key}");
            if (record.Layer is { } layer && !byDigest.ContainsKey(layer.Digest))
                throw new InvalidCacheException($"{where}: cache record {i} ({record.Key}) has layer {layer.Digest}, which the cache does not hold");
            if (record.Layer is not null && (record.DiffId is null || !Digest.TryParse(record.DiffId, out _)))
                throw new InvalidCacheException($"{where}: cache record {i} ({record.Key}) has no valid diff id for its layer");
            if (await records.GetAsync(record.Key, cancellationToken) is not null)
            {
                present++;
                continue;
            }
            // A cached last step's diff id goes into the image config unread (export copies the blob): check it here,
            // once per layer, so a cache that lies about it cannot put a wrong rootfs into an image.
            if (record.Layer is { } recordLayer && !checkedDiffIds.Contains((recordLayer.Digest, record.DiffId!)))
            {
                var actual = await DiffIdAsync(recordLayer, cancellationToken);
                if (actual.ToString() != record.DiffId)
                    throw new InvalidCacheException($"{where}: cache record {i} ({record.Key}) says layer {recordLayer.Digest} has diff id {record.DiffId}, but it has {actual}");
                checkedDiffIds.Add((recordLayer.Digest, record.DiffId!));
            }
            await records.PutAsync(record with { Seal = null }, cancellationToken);
            imported++;
        }

        var buildKitMatched = 0;
        if (graphs is { Count: > 0 } && foreign > 0)
        {
            foreach (var record in BuildKitKeys.BuildKitCacheMatcher.Match(config, byDigest, graphs))
            {
                if (await records.GetAsync(record.Key, cancellationToken) is not null)
                {
                    present++;
                    continue;
                }
                // The layer's diff id goes into the image: always from the blob itself (the annotation, when there, must agree).
                var actual = (await DiffIdAsync(record.Layer!, cancellationToken)).ToString();
                if (record.DiffId is { } noted && noted != actual)
                    throw new InvalidCacheException($"{where}: cache layer {record.Layer!.Digest} is annotated with diff id {noted}, but it has {actual}");
                await records.PutAsync(record with { DiffId = actual, Seal = null }, cancellationToken);
                imported++;
                buildKitMatched++;
            }
        }
        return new CacheImportResult(byDigest.Count, imported, present, foreign) { BuildKitMatched = buildKitMatched };
    }

    private async Task<Digest> DiffIdAsync(Descriptor layer, CancellationToken cancellationToken)
    {
        await using var blob = await store.OpenAsync(layer.ParsedDigest, cancellationToken);
        await using var tar = LayerCompressor.OpenDecompressed(blob, layer.MediaType);
        await using var hashing = new Oci.HashingReadStream(tar);
        return await hashing.DrainAsync(cancellationToken);
    }

    // buildx names the cache by its tag in index.json ("latest" unless tag= says otherwise); a layout with one entry is it.
    private static async Task<Descriptor> FindManifestAsync(OciLayout layout, string tag, string where, CancellationToken cancellationToken)
    {
        var index = await layout.ReadIndexAsync(cancellationToken);
        var named = index.Manifests.FirstOrDefault(m => m.Annotations?.GetValueOrDefault(OciLayout.RefNameAnnotation) == tag);
        if (named is not null) return named;
        if (index.Manifests.Count == 1) return index.Manifests[0];
        throw new InvalidCacheException($"{where}: index.json has {index.Manifests.Count} entries and none named '{tag}' (give tag=NAME)");
    }
}
