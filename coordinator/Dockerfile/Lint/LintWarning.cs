namespace BuildFarm.Coordinator.Dockerfile.Lint;

/// <summary>A rule's finding at lines <see cref="StartLine"/>..<see cref="EndLine"/> (1-based; 0 = no place).</summary>
public sealed record LintWarning(string RuleName, string Description, string Url, string Detail, int StartLine, int EndLine)
{
    /// <summary>BuildKit's short form (linter.LintFormatShort), the line a build prints: "Rule: detail (line N)".</summary>
    public string Short => StartLine > 0 ? $"{RuleName}: {Detail} (line {StartLine})" : $"{RuleName}: {Detail}";
}
