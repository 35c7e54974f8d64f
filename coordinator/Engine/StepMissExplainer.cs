using System.Text.Json;
using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// "Why did this step miss the cache?" over stored records: compares the step's key inputs (the canonical JSON the
/// planner made) with the inputs of earlier records of the same place in the build and names what differs from the
/// nearest one, e.g. <c>buildArgs.VERSION: 1.2 -> 1.3</c>, <c>contentChecksum changed</c>, <c>parent changed</c>.
/// Works on the JSON (not <see cref="Planning.CacheKeyInputs"/>) so that records of another schema version still compare.
/// </summary>
public static class StepMissExplainer
{
    public const string NoCache = "--no-cache";
    public const string NoEarlierRecord = "no earlier record of this step";
    public const string SameInputsGone = "an earlier result with the same inputs is no longer in the cache";
    public const string ParentInput = "parent";
    private const int MaxValueLength = 80;

    public static StepMissExplained ForNoCache(string cacheKey) => new() { CacheKey = cacheKey, Explanation = NoCache };

    /// <summary>Explains against the candidate with the fewest differences (same step identity first on a tie, then newest).</summary>
    public static StepMissExplained Explain(StepDefinition definition, string stepIdentity, IEnumerable<StepRecord> candidates)
    {
        var explained = new StepMissExplained { CacheKey = definition.CacheKey };
        var current = Parse(definition.KeyInputsJson);
        if (current is null)
        {
            explained.Explanation = NoEarlierRecord;
            return explained;
        }

        List<Change>? best = null;
        var bestSameStep = false;
        foreach (var candidate in candidates)
        {
            if (candidate.Inputs is null) continue;
            var changes = Compare(candidate.Inputs, current);
            var sameStep = candidate.StepIdentity is { Length: > 0 } id && id == stepIdentity;
            if (best is null || changes.Count < best.Count || (changes.Count == best.Count && sameStep && !bestSameStep))
            {
                best = changes;
                bestSameStep = sameStep;
            }
        }

        if (best is null) explained.Explanation = NoEarlierRecord;
        else if (best.Count == 0) explained.Explanation = SameInputsGone;
        else
        {
            explained.Explanation = string.Join("; ", best.Select(c => c.Text));
            explained.ChangedInputs.AddRange(best.Select(c => c.Input));
        }
        return explained;
    }

    private sealed record Change(string Input, string Text);

    private static JsonObject? Parse(string json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try { return JsonNode.Parse(json) as JsonObject; }
        catch (JsonException) { return null; }
    }

    private static List<Change> Compare(JsonObject before, JsonObject after)
    {
        var changes = new List<Change>();
        var parentChanged = false;
        foreach (var (name, b, a) in CacheKeyInputs.Differences(before, after))
        {
            if (name == ParentInput || name.StartsWith(ParentInput + ".", StringComparison.Ordinal))
            {
                parentChanged = true;
                continue;
            }
            changes.Add(new Change(name, IsOpaque(name, b, a) ? $"{name} changed" : $"{name}: {Show(b)} -> {Show(a)}"));
        }
        // The parent's own miss explains the parent; here it is one short note, last.
        if (parentChanged) changes.Add(new Change(ParentInput, "parent changed"));
        return changes;
    }

    // Digests say nothing to a reader: name the input only.
    private static bool IsOpaque(string name, string? before, string? after) =>
        name == "contentChecksum" || name.StartsWith("sourceStages.", StringComparison.Ordinal)
        || (before?.StartsWith("sha256:", StringComparison.Ordinal) ?? false)
        || (after?.StartsWith("sha256:", StringComparison.Ordinal) ?? false);

    private static string Show(string? value) => value switch
    {
        null => "(absent)",
        { Length: > MaxValueLength } => value[..(MaxValueLength - 1)] + "…",
        _ => value,
    };
}
