
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// The .dockerignore matcher with moby/patternmatcher v0.6.1 semantics: patterns are evaluated in order, a later
/// pattern overrides an earlier one, '!' patterns re-include, and a pattern matching a parent directory matches
/// everything below it. Paths are slash-separated and relative to the context root.
/// </summary>
public sealed class PatternMatcher
{
    private readonly IgnorePattern[] _patterns;

    private PatternMatcher(IgnorePattern[] patterns, bool exclusions)
    {
        _patterns = patterns;
        Exclusions = exclusions;
    }

    public IReadOnlyList<IgnorePattern> Patterns => _patterns;

    /// <summary>Whether any pattern starts with '!' (then an excluded directory may still contain included files).</summary>
    public bool Exclusions { get; }

    /// <summary>Compiles the patterns: whitespace-trimmed, empty ones dropped, path-cleaned; a lone "!" or bad glob syntax is an error.</summary>
    public static PatternMatcher Create(IEnumerable<string> patterns)
    {
        var list = new List<IgnorePattern>();
        var exclusions = false;
        foreach (var raw in patterns)
        {
            var p = raw.Trim();
            if (p.Length == 0)
                continue;
            p = GoPath.Clean(p);
            var exclusion = false;
            if (p[0] == '!')
            {
                if (p.Length == 1)
                    throw new PatternSyntaxException(p, "illegal exclusion pattern: \"!\"");
                exclusion = true;
                exclusions = true;
                p = p[1..];
            }
            if (!GlobMatch.IsValid(p))
                throw new PatternSyntaxException(p);
            list.Add(new IgnorePattern(p, exclusion));
        }
        return new PatternMatcher(list.ToArray(), exclusions);
    }

    /// <summary>Whether the path, or one of its parent directories, is matched (excluded) after all patterns.</summary>
    public bool MatchesOrParentMatches(string file)
    {
        var matched = false;
        var parentPath = GoPath.Dir(file);
        var parentDirs = parentPath.Split('/');
        foreach (var pattern in _patterns)
        {
            // An inclusion cannot change an already matched path, nor an exclusion an unmatched one.
            if (pattern.Exclusion != matched)
                continue;
            var match = pattern.IsMatch(file);
            if (!match && parentPath != ".")
                match = MatchesAParent(pattern, parentDirs);
            if (match)
                matched = !pattern.Exclusion;
        }
        return matched;
    }

    /// <summary>
    /// Like <see cref="MatchesOrParentMatches"/> but reuses the parent directory's results; walk parents before
    /// children and pass each directory's <see cref="MatchInfo"/> to its entries. With <see cref="MatchInfo.Empty"/>
    /// the parents are tested directly.
    /// </summary>
    public bool MatchesUsingParentResults(string file, MatchInfo parentInfo, out MatchInfo info)
    {
        var parentMatched = parentInfo.ParentMatched;
        if (parentMatched is not null && parentMatched.Length != 0 && parentMatched.Length != _patterns.Length)
            throw new ArgumentException("wrong number of values in parentMatched", nameof(parentInfo));
        var hasParent = parentMatched is { Length: > 0 };
        var results = new bool[_patterns.Length];
        var matched = false;
        for (var i = 0; i < _patterns.Length; i++)
        {
            var pattern = _patterns[i];
            var match = hasParent && parentMatched![i];
            if (!match)
            {
                if (pattern.Exclusion != matched)
                    continue;
                match = pattern.IsMatch(file);
                if (!match && !hasParent)
                {
                    var parentPath = GoPath.Dir(file);
                    if (parentPath != ".")
                        match = MatchesAParent(pattern, parentPath.Split('/'));
                }
            }
            results[i] = match;
            if (match)
                matched = !pattern.Exclusion;
        }
        info = new MatchInfo(results);
        return matched;
    }

    /// <summary>The deprecated single-flag variant: only the parent's final verdict is carried over.</summary>
    public bool MatchesUsingParentResult(string file, bool parentMatched)
    {
        var matched = parentMatched;
        foreach (var pattern in _patterns)
        {
            if (pattern.Exclusion != matched)
                continue;
            if (pattern.IsMatch(file))
                matched = !pattern.Exclusion;
        }
        return matched;
    }

    /// <summary>The deprecated algorithm behind the package-level Matches: only the parent at the pattern's depth is tested.</summary>
    public bool Matches(string file)
    {
        var matched = false;
        var parentPath = GoPath.Dir(file);
        var parentDirs = parentPath.Split('/');
        foreach (var pattern in _patterns)
        {
            if (pattern.Exclusion != matched)
                continue;
            var match = pattern.IsMatch(file);
            if (!match && parentPath != "." && pattern.Dirs.Count <= parentDirs.Length)
                match = pattern.IsMatch(string.Join('/', parentDirs[..pattern.Dirs.Count]));
            if (match)
                matched = !pattern.Exclusion;
        }
        return matched;
    }

    /// <summary>Package-level Matches(file, patterns): cleans the path, and "." never matches.</summary>
    public static bool Matches(string file, IEnumerable<string> patterns)
    {
        var matcher = Create(patterns);
        file = GoPath.Clean(file);
        return file != "." && matcher.Matches(file);
    }

    private static bool MatchesAParent(IgnorePattern pattern, string[] parentDirs)
    {
        for (var i = 0; i < parentDirs.Length; i++)
        {
            if (pattern.IsMatch(string.Join('/', parentDirs[..(i + 1)])))
                return true;
        }
        return false;
    }
}
