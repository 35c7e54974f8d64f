namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>What one builder made of a case: the normalized image lines, or the error it refused the build with.</summary>
public sealed record BuildOutcome(IReadOnlyList<string>? Lines, string? Error)
{
    public const string ErrorPrefix = "error: ";

    public static BuildOutcome Image(IReadOnlyList<string> lines) => new(lines, null);
    public static BuildOutcome Failed(string error) => new(null, error);

    public IReadOnlyList<string> ToLines() => Lines ?? [ErrorPrefix + Error];

    /// <summary>Reads golden.txt (comment lines starting with '#' are provenance, not content).</summary>
    public static BuildOutcome ReadGolden(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => !l.StartsWith('#') && l.Length > 0).ToList();
        return lines is [var only] && only.StartsWith(ErrorPrefix, StringComparison.Ordinal) ? Failed(only[ErrorPrefix.Length..]) : Image(lines);
    }

    public void WriteGolden(string path, string provenance) =>
        File.WriteAllLines(path, [$"# made by {provenance}; regenerate with scripts/conformance-goldens.sh", .. ToLines()]);

    /// <summary>Empty when the two agree: same lines, or both refused the build with the same message (users search for
    /// BuildKit's wording, and a refusal with another cause is another behaviour).</summary>
    public IReadOnlyList<string> DifferencesFrom(BuildOutcome expected)
    {
        if (Error is not null && expected.Error is not null)
            return Error == expected.Error ? [] : ["  buildkit refuses: " + expected.Error, "  we refuse:       " + Error];
        if (Error is not null) return [$"BuildKit builds it; we fail: {Error}"];
        if (expected.Error is not null) return [$"BuildKit refuses it ({expected.Error}); we build it"];
        var ours = Lines!.ToHashSet(StringComparer.Ordinal);
        var theirs = expected.Lines!.ToHashSet(StringComparer.Ordinal);
        return expected.Lines!.Where(l => !ours.Contains(l)).Select(l => "  buildkit: " + l)
            .Concat(Lines!.Where(l => !theirs.Contains(l)).Select(l => "  ours:     " + l)).ToList();
    }
}
