using BuildFarm.Coordinator.Dockerfile.Lint;

namespace BuildFarm.Coordinator.Planning;

/// <summary>The warnings of one check, in source order, and whether they fail the build (<c># check=error=true</c>).</summary>
public sealed record LintResult(IReadOnlyList<LintWarning> Warnings, bool ErrorOnWarning)
{
    public static LintResult Empty { get; } = new([], false);

    /// <summary>BuildKit's build error when error=true and a rule fired; null otherwise.</summary>
    public string? Error => ErrorOnWarning && Warnings.Count > 0
        ? "lint violation found for rules: " + string.Join(", ", Warnings.Select(w => w.RuleName).Distinct(StringComparer.Ordinal))
        : null;
}
