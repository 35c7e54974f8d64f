using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>
/// Turns a finished build's step graphs (one per platform) and their step records into one BuildKit cache config, as
/// BuildKit exports every platform of a build into one config: each exported step becomes a record keyed by the farm's
/// cache key (BuildKit's keys come from LLB digests, which the farm cannot reproduce), whose result is the top of its
/// filesystem's layer chain (base layers included, as BuildKit's) and whose input links to the record of its parent
/// step. mode=min exports each graph's target stage steps, mode=max every step. A step two platforms share (a
/// <c>FROM --platform=$BUILDPLATFORM</c> stage has one key for both) is one record, and a shared layer chain one chain.
/// </summary>
public sealed class CacheCollector(IStepRecordIndex records)
{
    public Task<CollectedCache> CollectAsync(BuildGraph graph, bool max, CancellationToken cancellationToken) =>
        CollectAsync([graph], max, cancellationToken);

    public async Task<CollectedCache> CollectAsync(IReadOnlyList<BuildGraph> graphs, bool max, CancellationToken cancellationToken)
    {
        var layers = new List<CacheConfigLayer>();
        var descriptors = new List<Descriptor>();
        var layerIndex = new Dictionary<(string Blob, int Parent), int>();
        var configRecords = new List<CacheConfigRecord>();
        // Records of the graphs already collected, by cache key.
        var earlier = new Dictionary<string, int>(StringComparer.Ordinal);

        int AddLayer(Descriptor blob, string? diffId, DateTimeOffset created, int parent)
        {
            if (layerIndex.TryGetValue((blob.Digest, parent), out var existing)) return existing;
            layers.Add(new CacheConfigLayer
            {
                Blob = blob.Digest,
                Parent = parent,
                Annotations = new CacheLayerAnnotations { MediaType = blob.MediaType, DiffId = diffId, Size = blob.Size, CreatedAt = created },
            });
            descriptors.Add(new Descriptor { MediaType = blob.MediaType, Digest = blob.Digest, Size = blob.Size });
            return layerIndex[(blob.Digest, parent)] = layers.Count - 1;
        }

        foreach (var graph in graphs)
        {
            var nodes = graph.Nodes.ToDictionary(n => n.Index);
            var selected = max
                ? graph.Nodes.Where(IsStep).Select(n => n.Index).ToHashSet()
                : FinalStageSteps(graph, nodes);

            // Every step on a selected step's parent chain has its record read: its layer is part of the chain.
            var stepRecords = new Dictionary<int, StepRecord>();
            foreach (var node in graph.Nodes.Where(IsStep))
            {
                if (!selected.Contains(node.Index) && !selected.Any(s => IsAncestor(nodes, node.Index, s))) continue;
                var record = await records.GetAsync(node.Definition.CacheKey, cancellationToken)
                    ?? throw new InvalidOperationException($"cache export: the record of {node.DisplayName} ({node.Definition.CacheKey}) is not in the cache");
                stepRecords[node.Index] = record;
            }

            var chainTop = new Dictionary<int, int>();
            // The top layer index of a node's filesystem, -1 for an empty one (scratch).
            int TopOf(int index)
            {
                if (index < 0 || !nodes.TryGetValue(index, out var node)) return -1;
                if (chainTop.TryGetValue(index, out var known)) return known;
                var top = -1;
                if (node.IsBase)
                {
                    foreach (var layer in node.BaseLayers)
                        top = AddLayer(new Descriptor { MediaType = layer.MediaType, Digest = layer.Digest, Size = layer.Size },
                            layer.DiffId is { Length: > 0 } d ? d : null, DateTimeOffset.UnixEpoch, top);
                }
                else
                {
                    top = TopOf(node.Parent);
                    if (stepRecords.TryGetValue(index, out var record) && record.Layer is { } own)
                        top = AddLayer(own, record.DiffId, record.Created, top);
                }
                return chainTop[index] = top;
            }

            // Record numbers first (a step two platforms share keeps the earlier graph's), so a link can name any of them.
            var ordered = selected.Order().ToList();
            var recordOf = new Dictionary<int, int>();
            var added = new List<int>();
            foreach (var index in ordered)
            {
                if (earlier.TryGetValue(stepRecords[index].Key, out var shared))
                {
                    recordOf[index] = shared;
                    continue;
                }
                recordOf[index] = configRecords.Count + added.Count;
                added.Add(index);
            }
            foreach (var index in added)
            {
                var record = stepRecords[index];
                var top = TopOf(index);
                var parentRecord = NearestSelectedAncestor(nodes, index, selected) is { } parent ? recordOf[parent] : (int?)null;
                configRecords.Add(new CacheConfigRecord
                {
                    Digest = record.Key,
                    Results = top >= 0 ? [new CacheConfigResult { Layer = top, CreatedAt = record.Created }] : null,
                    Inputs = parentRecord is { } p ? [[new CacheConfigInput { Link = p }]] : null,
                    FarmRecord = record with { Seal = null },
                });
            }
            foreach (var (index, record) in recordOf) earlier.TryAdd(stepRecords[index].Key, record);
        }
        return new CollectedCache(new CacheConfig { Layers = layers, Records = configRecords }, descriptors);
    }

    private static bool IsStep(GraphNode node) => !node.IsBase && !node.MetadataOnly && node.Definition is { CacheKey.Length: > 0 };

    // The target stage's steps: the final node and its parents up to the stage's base.
    private static HashSet<int> FinalStageSteps(BuildGraph graph, Dictionary<int, GraphNode> nodes)
    {
        var set = new HashSet<int>();
        for (var index = graph.FinalNode; index >= 0 && nodes.TryGetValue(index, out var node); index = node.Parent)
            if (IsStep(node)) set.Add(index);
        return set;
    }

    private static bool IsAncestor(Dictionary<int, GraphNode> nodes, int ancestor, int of)
    {
        for (var index = nodes[of].Parent; index >= 0 && nodes.TryGetValue(index, out var node); index = node.Parent)
            if (index == ancestor) return true;
        return false;
    }

    private static int? NearestSelectedAncestor(Dictionary<int, GraphNode> nodes, int of, HashSet<int> selected)
    {
        for (var index = nodes[of].Parent; index >= 0 && nodes.TryGetValue(index, out var node); index = node.Parent)
            if (selected.Contains(index)) return index;
        return null;
    }
}
