using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// Adds to a collected cache, beside the farm's records, the records BuildKit would have written for the same steps:
/// keyed by BuildKit's digests (the graph's BuildKit annotations), linked as its exporter links them (a step to each
/// record of its parent op, with the op's selector; an image's two source records as roots), with the same result
/// layers as the farm's record of the step. A step without a BuildKit digest, and every step after it, gets none.
/// </summary>
public static class BuildKitRecordAppender
{
    public static CollectedCache Append(CollectedCache cache, BuildGraph graph)
    {
        var layers = cache.Config.Layers ?? [];
        var records = (cache.Config.Records ?? []).ToList();
        var farmResults = records.Where(r => r.FarmRecord is not null && r.Results is not null)
            .GroupBy(r => r.FarmRecord!.Key).ToDictionary(g => g.Key, g => g.First().Results!, StringComparer.Ordinal);
        var chainTops = ChainTops(layers);
        var nodes = graph.Nodes.ToDictionary(n => n.Index);
        var memo = new Dictionary<int, IReadOnlyList<int>?>();
        var added = new Dictionary<string, int>(StringComparer.Ordinal);

        int Add(CacheConfigRecord record)
        {
            // one record per digest and links (a step reached from two stages is still one op)
            var identity = record.Digest + "|" + string.Join(";", (record.Inputs ?? []).Select(i => string.Join(",", i.Select(l => $"{l.Selector}>{l.Link}"))));
            if (added.TryGetValue(identity, out var existing)) return existing;
            records.Add(record);
            return added[identity] = records.Count - 1;
        }

        // The indexes of the BuildKit records that stand for a node's result; null when BuildKit's keys are unknown there.
        IReadOnlyList<int>? Records(int index)
        {
            if (!nodes.TryGetValue(index, out var node)) return null;
            if (memo.TryGetValue(index, out var known)) return known;
            memo[index] = null;
            IReadOnlyList<int>? result;
            if (node.MetadataOnly) result = Records(node.Parent);
            else if (node.BuildkitDigests.Count == 0) result = null;
            else if (node.IsBase)
            {
                var top = chainTops.GetValueOrDefault(string.Join(" ", node.BaseLayers.Select(l => l.Digest)), -1);
                IReadOnlyList<CacheConfigResult>? results = top >= 0 ? [new CacheConfigResult { Layer = top, CreatedAt = DateTimeOffset.UnixEpoch }] : null;
                result = node.BuildkitDigests.Select(d => Add(new CacheConfigRecord { Digest = BuildKitDigest.RootKey(d), Results = results })).ToList();
            }
            else if (Records(node.Parent) is { } parent && node.Definition is { CacheKey.Length: > 0 } definition)
            {
                static List<CacheConfigInput> Links(IEnumerable<int> records, string selector) =>
                    records.Select(p => new CacheConfigInput { Selector = selector.Length > 0 ? selector : null, Link = p }).ToList();
                List<IReadOnlyList<CacheConfigInput>> inputs = [Links(parent, node.BuildkitSelector)];
                // COPY --from=stage: input 1 is the source stage's result
                if (node.BuildkitSourceSelector.Length > 0)
                    inputs.Add(node.Inputs is [var source] && Records(source.Node) is { } from ? Links(from, node.BuildkitSourceSelector) : []);
                result = inputs.Any(i => i.Count == 0)
                    ? null
                    :
                    [
                        Add(new CacheConfigRecord
                        {
                            Digest = BuildKitDigest.RootKey(node.BuildkitDigests[0]),
                            Results = farmResults.GetValueOrDefault(definition.CacheKey),
                            Inputs = inputs,
                        }),
                    ];
            }
            else result = null;
            return memo[index] = result;
        }

        foreach (var node in graph.Nodes.Where(n => n.Definition is { CacheKey.Length: > 0 } d && farmResults.ContainsKey(d.CacheKey)))
            Records(node.Index);
        return cache with { Config = cache.Config with { Records = records } };
    }

    // The layer index at the top of each chain, by the chain's blob digests joined with spaces.
    private static Dictionary<string, int> ChainTops(IReadOnlyList<CacheConfigLayer> layers)
    {
        var chains = new string?[layers.Count];
        string Chain(int i) => chains[i] ??= layers[i].Parent < 0 ? layers[i].Blob : Chain(layers[i].Parent) + " " + layers[i].Blob;
        var tops = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Count; i++) tops.TryAdd(Chain(i), i);
        return tops;
    }
}
