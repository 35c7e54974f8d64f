namespace BuildFarm.Worker.Snapshots;

/// <summary>What this worker holds extracted, kept as it changes (seeded by one scan at start): the total bytes and the
/// diff ids, most recently used first. Read on every worker status, so reading never touches the disk.</summary>
public sealed class LayerUsage
{
    private readonly Lock _gate = new();
    private readonly LinkedList<string> _recent = new();
    private readonly Dictionary<string, (LinkedListNode<string> Node, long Bytes)> _layers = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>Bytes of the extracted layers.</summary>
    public long Bytes
    {
        get { lock (_gate) return _bytes; }
    }

    /// <summary>Records a layer as used now (added with <paramref name="bytes"/> when new).</summary>
    public void Used(string diffId, long bytes)
    {
        lock (_gate)
        {
            if (_layers.TryGetValue(diffId, out var known))
            {
                _recent.Remove(known.Node);
                _recent.AddFirst(known.Node);
                return;
            }
            _layers[diffId] = (_recent.AddFirst(diffId), bytes);
            _bytes += bytes;
        }
    }

    /// <summary>Whether the layer is known; when not, <see cref="Used"/> needs its size.</summary>
    public bool Contains(string diffId)
    {
        lock (_gate) return _layers.ContainsKey(diffId);
    }

    public void Removed(string diffId)
    {
        lock (_gate)
        {
            if (!_layers.Remove(diffId, out var gone)) return;
            _recent.Remove(gone.Node);
            _bytes -= gone.Bytes;
        }
    }

    /// <summary>At most <paramref name="max"/> diff ids, most recently used first.</summary>
    public IReadOnlyList<string> MostRecent(int max)
    {
        lock (_gate) return [.. _recent.Take(max)];
    }
}
