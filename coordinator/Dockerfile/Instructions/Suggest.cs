namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Adds BuildKit-style "(did you mean x?)" hints: the closest option within edit distance 2.</summary>
internal static class Suggest
{
    public static string Wrap(string message, string value, IEnumerable<string> options, bool caseSensitive = true) =>
        Closest(value, options, caseSensitive) is { } match ? $"{message} (did you mean {match}?)" : message;

    /// <summary>The closest option within edit distance 2 (BuildKit's suggest.Search); null when none or on an exact match.</summary>
    public static string? Closest(string value, IEnumerable<string> options, bool caseSensitive = true)
    {
        var v = caseSensitive ? value : value.ToLowerInvariant();
        string? match = null;
        var minDistance = 3;
        foreach (var option in options)
        {
            var o = caseSensitive ? option : option.ToLowerInvariant();
            if (v == o)
            {
                // An exact match means the error is about something else.
                return null;
            }
            var d = Distance(v, o);
            if (d < minDistance)
            {
                match = caseSensitive ? o : MatchCase(o, value);
                minDistance = d;
            }
        }
        return match;
    }

    private static string MatchCase(string option, string original)
    {
        if (original == original.ToLowerInvariant())
        {
            return option.ToLowerInvariant();
        }
        return original == original.ToUpperInvariant() ? option.ToUpperInvariant() : option;
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) >= 3 || a.Length > 1024 || b.Length > 1024)
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
