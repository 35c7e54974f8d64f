namespace BuildFarm.Coordinator.Dockerfile.Lint;

/// <summary>
/// Prints check findings as buildx does: <c>--call=check</c> with each warning's rule, link, message and the source lines
/// around it (BuildKit's lint.PrintTo and errdefs.Source.Print), a normal build with the one-line summary (buildx's printWarnings).
/// </summary>
public static class LintReportWriter
{
    private const string Rule = "--------------------";

    /// <summary>What <c>--call=check</c> prints: the count line, then each warning with its source.</summary>
    public static void WriteCheck(TextWriter output, IReadOnlyList<LintWarning> warnings, string fileName, string source)
    {
        if (warnings.Count == 0)
        {
            output.WriteLine("Check complete, no warnings found.");
            return;
        }
        output.WriteLine(warnings.Count == 1 ? "Check complete, 1 warning has been found!" : $"Check complete, {warnings.Count} warnings have been found!");
        var lines = source.Split('\n');
        foreach (var warning in warnings)
        {
            output.Write($"\nWARNING: {warning.RuleName}");
            if (warning.Url.Length > 0) output.Write($" - {warning.Url}");
            output.Write($"\n{warning.Detail}\n");
            WriteSource(output, fileName, lines, warning.StartLine, Math.Max(warning.StartLine, warning.EndLine));
        }
    }

    /// <summary>What a build prints after its progress when the Dockerfile had findings.</summary>
    public static void WriteBuildSummary(TextWriter output, IReadOnlyList<LintWarning> warnings)
    {
        if (warnings.Count == 0) return;
        output.Write("\n ");
        output.Write(warnings.Count == 1 ? "1 warning found" : $"{warnings.Count} warnings found");
        output.Write(" (use docker --debug to expand):\n");
        foreach (var warning in warnings)
            output.Write($" - {warning.Short}\n");
    }

    /// <summary>BuildKit's errdefs.Source.Print: the lines of the range marked with &gt;&gt;&gt;, a little context around them.</summary>
    public static void WriteSource(TextWriter output, string fileName, IReadOnlyList<string> lines, int start, int end)
    {
        if (start < 1 || start > lines.Count) return;
        end = Math.Min(end, lines.Count);
        var first = start;
        var last = end;
        var pad = start == end ? 4 : 2;
        // Widen by one line each side per round, counting a round even when one side is at the file's edge (as BuildKit).
        for (var p = 0; p < pad;)
        {
            if (first > 1)
            {
                first--;
                p++;
            }
            if (last != lines.Count)
            {
                last++;
                p++;
            }
            p++;
        }
        output.Write($"{fileName}:{start}\n{Rule}\n");
        for (var i = first; i <= last; i++)
        {
            var marker = i >= start && i <= end ? ">>>" : "   ";
            output.Write($" {i,3} | {marker} {lines[i - 1]}\n");
        }
        output.Write($"{Rule}\n");
    }
}
