namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// "Why did this step miss the cache?": compares a step's inputs with earlier records of the same step (e.g. the
/// records of the same Dockerfile position in previous builds) and names what differs from the nearest one.
/// </summary>
public static class CacheMissExplainer
{
    /// <summary>The differences to the earlier inputs with the fewest differences; empty when there is none to compare with.</summary>
    public static IReadOnlyList<CacheKeyDifference> Explain(CacheKeyInputs current, IEnumerable<CacheKeyInputs> earlier)
    {
        IReadOnlyList<CacheKeyDifference>? best = null;
        foreach (var candidate in earlier)
        {
            var differences = candidate.Differences(current);
            if (best is null || differences.Count < best.Count)
                best = differences;
        }
        return best ?? [];
    }

    /// <summary>One line per difference, e.g. "buildArgs.VERSION: 1 -> 2"; a note when nothing earlier is known.</summary>
    public static string Describe(IReadOnlyList<CacheKeyDifference> differences) =>
        differences.Count == 0 ? "no earlier record of this step to compare with" : string.Join(Environment.NewLine, differences);
}
