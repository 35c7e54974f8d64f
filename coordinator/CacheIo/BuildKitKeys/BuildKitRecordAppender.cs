using BuildFarm.Oci;
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
                // roots without results, as BuildKit exports them: the image itself comes from its registry
                result = node.BuildkitDigests.Select(d => Add(new CacheConfigRecord { Digest = BuildKitDigest.RootKey(d) })).ToList();
            }
            else if (Records(node.Parent) is { } parent && node.Definition is { CacheKey.Length: > 0 } definition)
            {
                static List<CacheConfigInput> Links(IEnumerable<int> records, string selector) =>
                    records.Select(p => new CacheConfigInput { Selector = selector.Length > 0 ? selector : null, Link = p }).ToList();
                List<IReadOnlyList<CacheConfigInput>> inputs = [Links(parent, node.BuildkitSelector)];
                // COPY --from=stage: input 1 is the source stage's result
                if (node.BuildkitSourceSelector.Length > 0)
                    inputs.Add(node.Inputs is [var source] && Records(source.Node) is { } from ? Links(from, node.BuildkitSourceSelector) : []);
                // a context COPY: input 1 is the context's content key, a root record linked with no selector
                else if (node.BuildkitDigests.Count > BuildKitGraphKeys.ContextKeyIndex)
                    inputs.Add(Links([Add(new CacheConfigRecord
                    {
                        Digest = BuildKitDigest.RootKey(node.BuildkitDigests[BuildKitGraphKeys.ContextKeyIndex], BuildKitOpKeys.ContentKeyOutput),
                    })], ""));
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
        return new CollectedCache(cache.Config with { Records = records }, WithDiffIdAnnotations(cache.Layers, layers));
    }

    // BuildKit v0.13 reads a layer's diff id from the manifest's descriptor (containerd.io/uncompressed), not from the
    // config's layer annotations, and refuses a cached result without it ("missing uncompressed annotation").
    private static IReadOnlyList<Descriptor> WithDiffIdAnnotations(IReadOnlyList<Descriptor> descriptors, IReadOnlyList<CacheConfigLayer> layers)
    {
        var diffIds = layers.Where(l => l.Annotations?.DiffId is { Length: > 0 })
            .GroupBy(l => l.Blob).ToDictionary(g => g.Key, g => g.First().Annotations!.DiffId!, StringComparer.Ordinal);
        return descriptors.Select(d => diffIds.TryGetValue(d.Digest, out var diffId)
            ? d with { Annotations = new Dictionary<string, string>(d.Annotations ?? new Dictionary<string, string>()) { [UncompressedAnnotation] = diffId } }
            : d).ToList();
    }

    private const string UncompressedAnnotation = "containerd.io/uncompressed";
}
