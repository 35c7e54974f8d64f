namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Adds BuildKit-style "(did you mean x?)" hints for near-miss names.</summary>
internal static class Suggest
{
    public static string Wrap(string message, string value, IEnumerable<string> options, bool caseSensitive = true)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var v = caseSensitive ? value : value.ToLowerInvariant();
        foreach (var option in options)
        {
            var o = caseSensitive ? option : option.ToLowerInvariant();
            var d = Distance(v, o);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = option;
            }
        }
        // Close enough to be a typo: at most a third of the name wrong, and not identical.
        if (best == null || bestDistance == 0 || value.Length == 0 || bestDistance > Math.Max(1, value.Length / 3))
        {
            return message;
        }
        return $"{message} (did you mean {best}?)";
    }

    private static int Distance(string a, string b)
    {
        if (a.Length > 256 || b.Length > 256)
        {
            return int.MaxValue;
        }
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
