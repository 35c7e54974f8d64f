using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// Finds, in a cache config BuildKit wrote, the records of this build's steps: a step whose BuildKit digest names a record
/// that links (with the step's selector) to a record of its parent, whose result is the parent's layer chain plus one
/// layer, becomes a farm step record under the farm's key. BuildKit's record ids hold only the op's own digest; the
/// links make the chain, so a step matches only under a matched parent (as BuildKit's own cache lookups do).
/// </summary>
public static class BuildKitCacheMatcher
{
    public static IReadOnlyList<StepRecord> Match(CacheConfig config, IReadOnlyDictionary<string, Descriptor> layers, IEnumerable<BuildGraph> graphs)
    {
        var records = config.Records ?? [];
        var byDigest = records.Select((r, i) => (r, i)).Where(p => p.r.Digest is not null)
            .ToLookup(p => p.r.Digest!, p => p.i, StringComparer.Ordinal);
        var chains = LayerChains(config);
        var found = new Dictionary<string, StepRecord>(StringComparer.Ordinal);
        foreach (var graph in graphs)
        {
            var nodes = graph.Nodes.ToDictionary(n => n.Index);
            var memo = new Dictionary<int, Matched?>();

            Matched? Resolve(int index)
            {
                if (!nodes.TryGetValue(index, out var node)) return null;
                if (memo.TryGetValue(index, out var known)) return known;
                memo[index] = null; // a cycle (there is none in a plan) resolves to nothing
                Matched? result;
                if (node.MetadataOnly) result = Resolve(node.Parent);
                else if (node.BuildkitDigests.Count == 0) result = null;
                else if (node.IsBase)
                {
                    var ids = node.BuildkitDigests.SelectMany(d => byDigest[BuildKitDigest.RootKey(d)])
                        .Where(i => records[i].Inputs is not { Count: > 0 }).ToHashSet();
                    result = ids.Count > 0 ? new Matched(ids, node.BaseLayers.Select(l => l.Digest).ToList()) : null;
                }
                else if (node.BuildkitSourceSelector.Length > 0)
                    result = node.Inputs is [var source] ? Step(node, Resolve(node.Parent), Resolve(source.Node)) : null;
                else result = Step(node, Resolve(node.Parent), null);
                return memo[index] = result;
            }

            // source: the other stage a COPY --from reads (BuildKit's input 1), null for a one-input op
            Matched? Step(GraphNode node, Matched? parent, Matched? source)
            {
                if (parent is null || node.Definition is not { CacheKey.Length: > 0 } definition) return null;
                var sourced = node.BuildkitSourceSelector.Length > 0;
                if (sourced && source is null) return null;
                bool Links(IReadOnlyList<CacheConfigInput> input, Matched from, string selector) =>
                    input.Any(l => from.Records.Contains(l.Link) && (l.Selector ?? "") == selector);
                // a context COPY: input 1 links, with no selector, to the root record of the context's content key
                var contextRecord = node.BuildkitDigests.Count > BuildKitGraphKeys.ContextKeyIndex
                    ? BuildKitDigest.RootKey(node.BuildkitDigests[BuildKitGraphKeys.ContextKeyIndex], BuildKitOpKeys.ContentKeyOutput)
                    : null;
                bool LinksContext(IReadOnlyList<CacheConfigInput> input) =>
                    input.Any(l => l.Link >= 0 && l.Link < records.Count && records[l.Link].Digest == contextRecord
                                   && records[l.Link].Inputs is not { Count: > 0 } && string.IsNullOrEmpty(l.Selector));
                var ids = byDigest[BuildKitDigest.RootKey(node.BuildkitDigests[0])]
                    .Where(i => records[i].Inputs is { } inputs && inputs.Count == (sourced || contextRecord is not null ? 2 : 1)
                                && Links(inputs[0], parent, node.BuildkitSelector)
                                && (!sourced || Links(inputs[1], source!, node.BuildkitSourceSelector))
                                && (contextRecord is null || LinksContext(inputs[1])))
                    .ToHashSet();
                foreach (var id in ids.Order())
                {
                    foreach (var res in records[id].Results ?? [])
                    {
                        var chain = chains[res.Layer];
                        // exactly the parent's layers and one more: that one is this step's layer
                        if (chain.Count != parent.Chain.Count + 1 || !chain.Take(parent.Chain.Count).SequenceEqual(parent.Chain, StringComparer.Ordinal))
                            continue;
                        if (!layers.TryGetValue(chain[^1], out var top)) continue;
                        found.TryAdd(definition.CacheKey, new StepRecord
                        {
                            Key = definition.CacheKey,
                            Layer = new Descriptor { MediaType = top.MediaType, Digest = top.Digest, Size = top.Size },
                            DiffId = config.Layers![res.Layer].Annotations?.DiffId,
                            Created = res.CreatedAt,
                            Inputs = definition.KeyInputsJson is { Length: > 0 } json ? JsonNode.Parse(json) as JsonObject : null,
                            ParentKey = definition.ParentKey is { Length: > 0 } p ? p : null,
                            StepIdentity = node.StepIdentity is { Length: > 0 } s ? s : null,
                        });
                        return new Matched(ids, chain);
                    }
                }
                return null;
            }

            foreach (var node in graph.Nodes) Resolve(node.Index);
        }
        return [.. found.Values];
    }

    // Each layer's chain of blobs, bottom first.
    private static List<string>[] LayerChains(CacheConfig config)
    {
        var layers = config.Layers ?? [];
        var chains = new List<string>?[layers.Count];
        List<string> Chain(int i, int depth)
        {
            if (chains[i] is { } known) return known;
            if (depth > layers.Count) throw new InvalidCacheException($"cache config layer {i} is its own ancestor");
            var chain = layers[i].Parent < 0 ? new List<string>() : [.. Chain(layers[i].Parent, depth + 1)];
            chain.Add(layers[i].Blob);
            return chains[i] = chain;
        }
        for (var i = 0; i < layers.Count; i++) Chain(i, 0);
        return chains!;
    }

    private sealed record Matched(HashSet<int> Records, IReadOnlyList<string> Chain);
}
