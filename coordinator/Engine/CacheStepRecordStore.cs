using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>Step records in the shared cache (beside the blobs), as the step entities read and write them.</summary>
public sealed class CacheStepRecordStore(SharedCache cache) : IStepRecordStore
{
    public async Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken)
    {
        var record = await cache.Records.GetAsync(cacheKey, cancellationToken);
        if (record is null) return null;
        // A record whose layer blob was pruned is a miss: the step must run again to recreate the blob.
        if (record.Layer is { } layer && !await cache.Blobs.ExistsAsync(layer.ParsedDigest, cancellationToken)) return null;
        await cache.Records.TouchAsync(cacheKey, cancellationToken);
        return new StepResult
        {
            CacheKey = cacheKey,
            EmptyLayer = record.Layer is null,
            // The record's time, so that history timestamps (and so the image digest) repeat on a cached rebuild.
            CompletedUnixMs = record.Created.ToUnixTimeMilliseconds(),
            Layer = record.Layer is { } l
                ? new LayerRef { Digest = l.Digest, Size = l.Size, MediaType = l.MediaType, DiffId = record.DiffId ?? "" }
                : null,
        };
    }

    public Task SaveAsync(StepDefinition definition, string stepIdentity, StepResult result, CancellationToken cancellationToken)
    {
        var record = new StepRecord
        {
            Key = result.CacheKey,
            Layer = result.Layer is { } l && !result.EmptyLayer
                ? new Descriptor { MediaType = l.MediaType, Digest = l.Digest, Size = l.Size }
                : null,
            DiffId = result.Layer?.DiffId is { Length: > 0 } diffId ? diffId : null,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(result.CompletedUnixMs),
            Inputs = definition.KeyInputsJson is { Length: > 0 } json ? JsonNode.Parse(json) as JsonObject : null,
            ParentKey = definition.ParentKey is { Length: > 0 } parent ? parent : null,
            StepIdentity = stepIdentity is { Length: > 0 } ? stepIdentity : null,
        };
        return cache.Records.PutAsync(record, cancellationToken);
    }

    public async Task<StepMissExplained> ExplainMissAsync(StepDefinition definition, string stepIdentity, DateTimeOffset dispatchedAt,
        CancellationToken cancellationToken)
    {
        var candidates = await cache.Records.FindCandidatesAsync(
            definition.ParentKey is { Length: > 0 } parent ? parent : null,
            stepIdentity is { Length: > 0 } ? stepIdentity : null,
            cancellationToken: cancellationToken);
        // This run's own record (saved while the lookup was slow) is no earlier record.
        return StepMissExplainer.Explain(definition, stepIdentity,
            candidates.Where(c => c.Key != definition.CacheKey || c.Created < dispatchedAt));
    }
}
