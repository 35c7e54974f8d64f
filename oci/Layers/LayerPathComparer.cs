namespace BuildFarm.Oci.Layers;

/// <summary>
/// Orders layer paths the way a sorted depth-first walk visits them: component by component, ordinally,
/// so a directory always precedes its children ("a", "a/b", "a-b").
/// </summary>
public sealed class LayerPathComparer : IComparer<string>
{
    public static LayerPathComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var i = 0;
        var j = 0;
        while (true)
        {
            var xEnd = x.IndexOf('/', i);
            var yEnd = y.IndexOf('/', j);
            var xs = x.AsSpan(i, (xEnd < 0 ? x.Length : xEnd) - i);
            var ys = y.AsSpan(j, (yEnd < 0 ? y.Length : yEnd) - j);
            var c = xs.SequenceCompareTo(ys);
            if (c != 0) return c;
            if (xEnd < 0 && yEnd < 0) return 0;
            if (xEnd < 0) return -1;
            if (yEnd < 0) return 1;
            i = xEnd + 1;
            j = yEnd + 1;
        }
    }
}
