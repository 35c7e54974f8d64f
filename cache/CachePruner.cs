using System.Text.Json;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Removes step records by age and total size, then the blobs no kept record and no root references.
/// Records go before their blobs, so a reader never finds a record whose layer is gone.</summary>
public sealed class CachePruner(SharedCache cache, IPruneRoots? roots = null)
{
    private const long MaxManifestBytes = 4 << 20;

    public async Task<CacheUsage> MeasureAsync(CancellationToken cancellationToken = default)
    {
        var blobs = await ListBlobsAsync(cancellationToken);
        var records = await ListRecordsAsync(cancellationToken);
        var referenced = records.SelectMany(r => r.Record.ReferencedBlobs).Where(blobs.ContainsKey).ToHashSet();
        return new CacheUsage(cache.Location,
            blobs.Count, blobs.Values.Sum(b => b.Size),
            records.Count, records.Sum(r => r.Size),
            referenced.Count, referenced.Sum(d => blobs[d].Size),
            records.Count == 0 ? null : records.Min(r => r.LastUsed),
            records.Count == 0 ? null : records.Max(r => r.LastUsed));
    }

    public async Task<PruneReport> PruneAsync(PruneOptions options, CancellationToken cancellationToken = default)
    {
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var blobs = await ListBlobsAsync(cancellationToken);
        var records = await ListRecordsAsync(cancellationToken);
        var keep = await ExpandRootsAsync(cancellationToken);

        // Oldest use first: the order in which records go.
        var kept = new LinkedList<StepRecordEntry>(records.OrderBy(r => r.LastUsed));
        var dropped = new List<StepRecordEntry>();
        if (options.MaxAge is { } maxAge)
            while (kept.First is { } oldest && oldest.Value.LastUsed < now - maxAge)
            {
                dropped.Add(oldest.Value);
                kept.RemoveFirst();
            }

        var refs = new Dictionary<Digest, int>();
        foreach (var entry in kept)
            foreach (var d in entry.Record.ReferencedBlobs) refs[d] = refs.GetValueOrDefault(d) + 1;
        var releasedByDrop = dropped.SelectMany(e => e.Record.ReferencedBlobs).ToHashSet();

        bool Survives(BlobInfo b) =>
            keep.Contains(b.Digest) || refs.GetValueOrDefault(b.Digest) > 0
            || (!releasedByDrop.Contains(b.Digest) && b.LastModified > now - options.UnreferencedGrace);

        var total = blobs.Values.Where(Survives).Sum(b => b.Size);
        if (options.MaxTotalBytes is { } max)
            while (total > max && kept.First is { } lru)
            {
                kept.RemoveFirst();
                dropped.Add(lru.Value);
                foreach (var d in lru.Value.Record.ReferencedBlobs)
                {
                    releasedByDrop.Add(d);
                    if (refs.TryGetValue(d, out var n)) refs[d] = n - 1;
                    if (refs.GetValueOrDefault(d) == 0 && !keep.Contains(d) && blobs.TryGetValue(d, out var blob)) total -= blob.Size;
                }
            }

        var doomed = blobs.Values.Where(b => !Survives(b)).ToList();
        if (!options.DryRun)
        {
            foreach (var entry in dropped) await cache.Records.DeleteAsync(entry.Record.Key, cancellationToken);
            foreach (var blob in doomed) await cache.Blobs.DeleteAsync(blob.Digest, cancellationToken);
            await RemoveLeftoversAsync(options.UnreferencedGrace, cancellationToken);
        }
        var keptBlobs = blobs.Values.Where(Survives).ToList();
        return new PruneReport(dropped.Count, kept.Count, doomed.Count, doomed.Sum(b => b.Size),
            keptBlobs.Count, keptBlobs.Sum(b => b.Size), options.DryRun);
    }

    // Writers that died leave temp files (local) or unfinished multipart uploads (S3); neither is a visible blob.
    private async Task RemoveLeftoversAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        var store = cache.Blobs is CachingContentStore c ? c.Upstream : cache.Blobs;
        if (store is LocalContentStore local) local.RemoveStaleIngest(olderThan);
        else if (store is S3ContentStore s3) await s3.Connection.AbortStaleUploadsAsync(olderThan, cancellationToken);
    }

    private async Task<Dictionary<Digest, BlobInfo>> ListBlobsAsync(CancellationToken cancellationToken)
    {
        var blobs = new Dictionary<Digest, BlobInfo>();
        await foreach (var b in cache.Blobs.ListAsync(cancellationToken)) blobs[b.Digest] = b;
        return blobs;
    }

    private async Task<List<StepRecordEntry>> ListRecordsAsync(CancellationToken cancellationToken)
    {
        var records = new List<StepRecordEntry>();
        await foreach (var r in cache.Records.ListAsync(cancellationToken)) records.Add(r);
        return records;
    }

    /// <summary>The roots and, for roots that are manifests or indexes, everything they reference (transitively).</summary>
    private async Task<HashSet<Digest>> ExpandRootsAsync(CancellationToken cancellationToken)
    {
        var result = new HashSet<Digest>();
        if (roots is null) return result;
        var pending = new Stack<Digest>();
        await foreach (var r in roots.GetRootsAsync(cancellationToken)) pending.Push(r);
        while (pending.TryPop(out var digest))
        {
            if (!result.Add(digest)) continue;
            foreach (var child in await ReadChildrenAsync(digest, cancellationToken)) pending.Push(child);
        }
        return result;
    }

    private async Task<IEnumerable<Digest>> ReadChildrenAsync(Digest digest, CancellationToken cancellationToken)
    {
        var size = await cache.Blobs.GetSizeAsync(digest, cancellationToken);
        if (size is null or > MaxManifestBytes) return [];
        byte[] bytes;
        try
        {
            await using var stream = await cache.Blobs.OpenAsync(digest, cancellationToken);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            bytes = buffer.ToArray();
        }
        catch (BlobNotFoundException) { return []; }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return [];
            var children = new List<Digest>();
            void Add(JsonElement descriptor)
            {
                if (descriptor.ValueKind == JsonValueKind.Object && descriptor.TryGetProperty("digest", out var d)
                    && Digest.TryParse(d.GetString(), out var parsed)) children.Add(parsed);
            }
            if (doc.RootElement.TryGetProperty("config", out var config)) Add(config);
            foreach (var name in new[] { "layers", "manifests", "blobs" })
                if (doc.RootElement.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array)
                    foreach (var item in list.EnumerateArray()) Add(item);
            if (doc.RootElement.TryGetProperty("subject", out var subject)) Add(subject);
            return children;
        }
        catch (JsonException) { return []; } // a layer or other binary blob: no children
    }
}
