using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// One compiled .dockerignore pattern, classified as moby/patternmatcher does (exact, prefix, suffix or regexp).
/// Regexp patterns are matched by our own rune matcher over the same pieces patternmatcher turns into a Go regexp;
/// <see cref="RegexpText"/> is that Go regexp, kept for diagnostics and for checking the translation.
/// </summary>
public sealed class IgnorePattern
{
    private readonly PatternToken[] _tokens;
    private readonly string? _compileError;

    internal IgnorePattern(string cleanedPattern, bool exclusion)
    {
        CleanedPattern = cleanedPattern;
        Exclusion = exclusion;
        Dirs = cleanedPattern.Split('/');
        (MatchType, RegexpText, _tokens, _compileError) = Compile(cleanedPattern);
    }

    /// <summary>The pattern after Go's path.Clean, without its '!' prefix.</summary>
    public string CleanedPattern { get; }

    /// <summary>Whether the pattern started with '!' (re-includes what earlier patterns excluded).</summary>
    public bool Exclusion { get; }

    public IReadOnlyList<string> Dirs { get; }

    public PatternMatchType MatchType { get; }

    /// <summary>The Go regexp patternmatcher would compile, or null when the pattern is not a regexp match.</summary>
    public string? RegexpText { get; }

    public override string ToString() => (Exclusion ? "!" : "") + CleanedPattern;

    /// <summary>Matches one slash-separated path; throws <see cref="PatternSyntaxException"/> when the pattern cannot compile.</summary>
    public bool IsMatch(string path)
    {
        if (_compileError is not null)
            throw new PatternSyntaxException(CleanedPattern, $"{PatternSyntaxException.BadPatternMessage}: \"{CleanedPattern}\": {_compileError}");
        switch (MatchType)
        {
            case PatternMatchType.Exact:
                return path == CleanedPattern;
            case PatternMatchType.Prefix:
                return path.StartsWith(CleanedPattern[..^2], StringComparison.Ordinal);
            case PatternMatchType.Suffix:
            {
                var suffix = CleanedPattern[2..];
                if (path.EndsWith(suffix, StringComparison.Ordinal))
                    return true;
                // "**/foo" also matches "foo" itself.
                return suffix.Length > 0 && suffix[0] == '/' && path == suffix[1..];
            }
            default:
                return RunMatch(_tokens, GlobMatch.ToRunes(path));
        }
    }

    private static (PatternMatchType, string?, PatternToken[], string?) Compile(string pattern)
    {
        var runes = GlobMatch.ToRunes(pattern);
        var tokens = new List<PatternToken>();
        var regex = new StringBuilder("^");
        var type = PatternMatchType.Exact;
        string? error = null;
        for (var i = 0; i < runes.Length; i++)
        {
            var ch = runes[i];
            if (ch == '*')
            {
                if (i + 1 < runes.Length && runes[i + 1] == '*')
                {
                    var first = i == 0;
                    i++;
                    // "**/" is treated as "**".
                    if (i + 1 < runes.Length && runes[i + 1] == '/')
                        i++;
                    if (i + 1 >= runes.Length)
                    {
                        if (type == PatternMatchType.Exact)
                            type = PatternMatchType.Prefix;
                        else
                        {
                            regex.Append(".*");
                            tokens.Add(new PatternToken(PatternTokenKind.AnyRun));
                            type = PatternMatchType.Regexp;
                        }
                    }
                    else
                    {
                        regex.Append("(.*/)?");
                        tokens.Add(new PatternToken(PatternTokenKind.OptionalDirs));
                        type = PatternMatchType.Regexp;
                    }
                    if (first)
                        type = PatternMatchType.Suffix;
                }
                else
                {
                    regex.Append("[^/]*");
                    tokens.Add(new PatternToken(PatternTokenKind.NotSlashRun));
                    type = PatternMatchType.Regexp;
                }
            }
            else if (ch == '?')
            {
                regex.Append("[^/]");
                tokens.Add(new PatternToken(PatternTokenKind.NotSlashOne));
                type = PatternMatchType.Regexp;
            }
            else if (ch == '\\')
            {
                // Escape the next rune; a trailing backslash stays (the syntax check rejects it earlier).
                regex.Append('\\');
                if (i + 1 < runes.Length)
                {
                    i++;
                    AppendRune(regex, runes[i]);
                    tokens.Add(new PatternToken(PatternTokenKind.Literal, runes[i]));
                }
                else
                {
                    error ??= "trailing backslash";
                }
                type = PatternMatchType.Regexp;
            }
            else if (ch == '[')
            {
                type = PatternMatchType.Regexp;
                var (cls, end, classError) = ParseClass(runes, i, regex);
                error ??= classError;
                if (cls is not null)
                    tokens.Add(new PatternToken(PatternTokenKind.Class, Class: cls));
                i = end;
            }
            else if (ch == ']')
            {
                // A stray ']' is a literal in a Go regexp too.
                regex.Append(']');
                tokens.Add(new PatternToken(PatternTokenKind.Literal, ch));
                type = PatternMatchType.Regexp;
            }
            else
            {
                if (ch < 128 && ".+()|{}$".Contains((char)ch))
                    regex.Append('\\');
                AppendRune(regex, ch);
                tokens.Add(new PatternToken(PatternTokenKind.Literal, ch));
            }
        }
        if (type != PatternMatchType.Regexp)
            return (type, null, [], null);
        regex.Append('$');
        return (type, regex.ToString(), tokens.ToArray(), error);
    }

    private static void AppendRune(StringBuilder sb, int rune) => sb.Append(char.ConvertFromUtf32(rune));

    // Parses "[...]" starting at start; returns the class, the index of its closing ']' and a compile error if any.
    private static (CharClass?, int, string?) ParseClass(int[] runes, int start, StringBuilder regex)
    {
        var i = start + 1;
        regex.Append('[');
        var negated = false;
        if (i < runes.Length && runes[i] == '^')
        {
            negated = true;
            regex.Append('^');
            i++;
        }
        var ranges = new List<(int, int)>();
        string? error = null;
        while (true)
        {
            if (i >= runes.Length)
                return (null, runes.Length - 1, "missing closing ]");
            if (runes[i] == ']' && ranges.Count > 0)
            {
                regex.Append(']');
                return (new CharClass(negated, ranges), i, error);
            }
            if (!ReadClassRune(runes, ref i, regex, out var lo))
                return (null, runes.Length - 1, "bad character class");
            var hi = lo;
            if (i < runes.Length && runes[i] == '-' && i + 1 < runes.Length && runes[i + 1] != ']')
            {
                regex.Append('-');
                i++;
                if (!ReadClassRune(runes, ref i, regex, out hi))
                    return (null, runes.Length - 1, "bad character class");
            }
            // Go's regexp rejects reversed ranges such as [l-O], although filepath.Match accepts them.
            if (hi < lo)
                error ??= $"invalid character class range: {char.ConvertFromUtf32(lo)}-{char.ConvertFromUtf32(hi)}";
            ranges.Add((lo, hi));
        }
    }

    private static bool ReadClassRune(int[] runes, ref int i, StringBuilder regex, out int rune)
    {
        rune = 0;
        if (i >= runes.Length)
            return false;
        if (runes[i] == '\\')
        {
            regex.Append('\\');
            i++;
            if (i >= runes.Length)
                return false;
        }
        rune = runes[i];
        AppendRune(regex, rune);
        i++;
        return true;
    }

    // Anchored match of the whole path; memoised so that many stars stay polynomial.
    private static bool RunMatch(PatternToken[] tokens, int[] path)
    {
        var memo = new Dictionary<(int, int), bool>();
        return MatchFrom(0, 0);

        bool MatchFrom(int t, int p)
        {
            if (t == tokens.Length)
                return p == path.Length;
            if (memo.TryGetValue((t, p), out var known))
                return known;
            var token = tokens[t];
            bool result;
            switch (token.Kind)
            {
                case PatternTokenKind.Literal:
                    result = p < path.Length && path[p] == token.Rune && MatchFrom(t + 1, p + 1);
                    break;
                case PatternTokenKind.NotSlashOne:
                    result = p < path.Length && path[p] != '/' && MatchFrom(t + 1, p + 1);
                    break;
                case PatternTokenKind.Class:
                    result = p < path.Length && token.Class!.Contains(path[p]) && MatchFrom(t + 1, p + 1);
                    break;
                case PatternTokenKind.NotSlashRun:
                    result = false;
                    for (var q = p; ; q++)
                    {
                        if (MatchFrom(t + 1, q))
                        {
                            result = true;
                            break;
                        }
                        if (q >= path.Length || path[q] == '/')
                            break;
                    }
                    break;
                case PatternTokenKind.AnyRun:
                    // Go's '.' does not match a newline.
                    result = false;
                    for (var q = p; ; q++)
                    {
                        if (MatchFrom(t + 1, q))
                        {
                            result = true;
                            break;
                        }
                        if (q >= path.Length || path[q] == '\n')
                            break;
                    }
                    break;
                case PatternTokenKind.OptionalDirs:
                    result = MatchFrom(t + 1, p);
                    for (var q = p; !result && q < path.Length && path[q] != '\n'; q++)
                    {
                        if (path[q] == '/' && MatchFrom(t + 1, q + 1))
                            result = true;
                    }
                    break;
                default:
                    result = false;
                    break;
            }
            memo[(t, p)] = result;
            return result;
        }
    }
}
