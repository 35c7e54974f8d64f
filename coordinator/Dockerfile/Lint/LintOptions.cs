using System.Text.RegularExpressions;

namespace BuildFarm.Coordinator.Dockerfile.Lint;

/// <summary>
/// The <c># check=skip=A,B;error=true;experimental=C</c> settings (BuildKit's linter.ParseLintOptions), from the file's directive,
/// the <c>BUILDKIT_DOCKERFILE_CHECK</c> build-arg (which replaces the directive), or a comment above one instruction (merged in).
/// </summary>
public sealed partial record LintOptions
{
    public bool SkipAll { get; init; }
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>(StringComparer.Ordinal);
    public bool ExperimentalAll { get; init; }
    public IReadOnlySet<string> Experimental { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>error=true: a build with any warning fails ("lint violation found for rules: …").</summary>
    public bool ErrorOnWarning { get; init; }

    public static LintOptions None { get; } = new();

    /// <exception cref="FormatException">"invalid check option …", as BuildKit words it.</exception>
    public static LintOptions Parse(string? text)
    {
        text = (text ?? "").Trim();
        if (text.Length == 0) return None;
        var options = None;
        // BuildKit splits into at most 3 parts: a fourth option stays glued to the third's value.
        foreach (var part in text.Split(';', 3))
        {
            var eq = part.IndexOf('=');
            if (eq < 0) throw new FormatException($"invalid check option {GoQuote.Quote(part)}");
            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            switch (key)
            {
                case "skip":
                    options = value == "all"
                        ? options with { SkipAll = true }
                        : options with { Skip = value.Split(',').Select(r => r.Trim()).ToHashSet(StringComparer.Ordinal) };
                    break;
                case "experimental":
                    options = value == "all"
                        ? options with { ExperimentalAll = true }
                        : options with { Experimental = value.Split(',').Select(r => r.Trim()).ToHashSet(StringComparer.Ordinal) };
                    break;
                case "error":
                    if (!TryParseGoBool(value, out var error))
                        throw new FormatException($"failed to parse check option {GoQuote.Quote(part)}: strconv.ParseBool: parsing {GoQuote.Quote(value)}: invalid syntax");
                    options = options with { ErrorOnWarning = error };
                    break;
                default:
                    throw new FormatException($"invalid check option {GoQuote.Quote(key)}");
            }
        }
        return options;
    }

    /// <summary>These options with another set's skips, experiments and error flag added (BuildKit's WithMergedConfig).</summary>
    public LintOptions Merge(LintOptions other) => new()
    {
        SkipAll = SkipAll || other.SkipAll,
        Skip = Skip.Concat(other.Skip).ToHashSet(StringComparer.Ordinal),
        ExperimentalAll = ExperimentalAll || other.ExperimentalAll,
        Experimental = Experimental.Concat(other.Experimental).ToHashSet(StringComparer.Ordinal),
        // BuildKit's merge never turns error on from a comment: ReturnAsError is the file's (or build-arg's) setting.
        ErrorOnWarning = ErrorOnWarning,
    };

    /// <summary>The options after the comments above an instruction: the first <c>check=</c> comment line counts.</summary>
    public LintOptions WithComments(IReadOnlyList<string> comments)
    {
        foreach (var comment in comments)
        {
            var match = DirectiveLine().Match(comment);
            if (!match.Success || !match.Groups[1].Value.Equals("check", StringComparison.OrdinalIgnoreCase)) continue;
            var value = match.Groups[2].Value;
            var space = value.IndexOf(' ');
            try
            {
                return Merge(Parse(space < 0 ? value : value[..space]));
            }
            catch (FormatException)
            {
                // As BuildKit: a malformed comment is not a directive; the options stay as they were.
                return this;
            }
        }
        return this;
    }

    /// <summary>Whether a rule runs under these options (an experimental rule only when named; others unless skipped).</summary>
    public bool Runs(LintRule rule) => rule.Experimental
        ? ExperimentalAll || Experimental.Contains(rule.Name)
        : !SkipAll && !Skip.Contains(rule.Name);

    private static bool TryParseGoBool(string value, out bool result)
    {
        switch (value)
        {
            case "1" or "t" or "T" or "TRUE" or "true" or "True":
                result = true;
                return true;
            case "0" or "f" or "F" or "FALSE" or "false" or "False":
                result = false;
                return true;
            default:
                result = false;
                return false;
        }
    }

    // A comment line as the parser keeps it (text after '#', trimmed): name=value, as BuildKit's directive regexp.
    [GeneratedRegex(@"^\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")]
    private static partial Regex DirectiveLine();
}
