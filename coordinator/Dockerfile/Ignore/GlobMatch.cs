
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// Go's <c>path/filepath.Match</c> on Unix: <c>*</c> and <c>?</c> never cross '/', <c>[...]</c> classes with
/// <c>^</c> negation and ranges, backslash escapes. The whole pattern is syntax-checked even when the match fails early.
/// Used to validate .dockerignore patterns and to expand COPY/ADD source wildcards.
/// </summary>
public static class GlobMatch
{
    public static bool IsMatch(string pattern, string name)
    {
        var p = ToRunes(pattern);
        var n = ToRunes(name);
        var result = Match(p, n);
        if (result is null)
            throw new PatternSyntaxException(pattern);
        return result.Value;
    }

    /// <summary>Whether the pattern has any glob metacharacter (Go's filepath hasMeta on Unix).</summary>
    public static bool HasMeta(string pattern) => pattern.AsSpan().IndexOfAny("*?[\\") >= 0;

    public static bool IsValid(string pattern) => Match(ToRunes(pattern), ToRunes(".")) is not null;

    internal static int[] ToRunes(string s)
    {
        var runes = new List<int>(s.Length);
        foreach (var r in s.EnumerateRunes())
            runes.Add(r.Value);
        return runes.ToArray();
    }

    // null = bad pattern.
    private static bool? Match(ReadOnlySpan<int> pattern, ReadOnlySpan<int> name)
    {
        while (pattern.Length > 0)
        {
            var star = ScanChunk(ref pattern, out var chunk);
            if (star && chunk.Length == 0)
                return name.IndexOf('/') < 0;

            var (ok, rest, bad) = MatchChunk(chunk, name);
            if (ok && (rest.Length == 0 || pattern.Length > 0))
            {
                name = name[(name.Length - rest.Length)..];
                continue;
            }
            if (bad)
                return null;

            var advanced = false;
            if (star)
            {
                for (var i = 0; i < name.Length && name[i] != '/'; i++)
                {
                    var (ok2, rest2, bad2) = MatchChunk(chunk, name[(i + 1)..]);
                    if (ok2)
                    {
                        // The last chunk must consume the whole name.
                        if (pattern.Length == 0 && rest2.Length > 0)
                            continue;
                        name = name[(name.Length - rest2.Length)..];
                        advanced = true;
                        break;
                    }
                    if (bad2)
                        return null;
                }
            }
            if (advanced)
                continue;

            // Before answering "no", make sure the rest of the pattern is well formed.
            while (pattern.Length > 0)
            {
                ScanChunk(ref pattern, out var c);
                if (MatchChunk(c, ReadOnlySpan<int>.Empty).Bad)
                    return null;
            }
            return false;
        }
        return name.Length == 0;
    }

    private static bool ScanChunk(ref ReadOnlySpan<int> pattern, out ReadOnlySpan<int> chunk)
    {
        var star = false;
        while (pattern.Length > 0 && pattern[0] == '*')
        {
            pattern = pattern[1..];
            star = true;
        }
        var inRange = false;
        int i;
        for (i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                if (i + 1 < pattern.Length)
                    i++;
            }
            else if (c == '[')
                inRange = true;
            else if (c == ']')
                inRange = false;
            else if (c == '*' && !inRange)
                break;
        }
        chunk = pattern[..i];
        pattern = pattern[i..];
        return star;
    }

    private readonly ref struct ChunkResult(bool ok, ReadOnlySpan<int> rest, bool bad)
    {
        public bool Ok { get; } = ok;
        public ReadOnlySpan<int> Rest { get; } = rest;
        public bool Bad { get; } = bad;

        public void Deconstruct(out bool okOut, out ReadOnlySpan<int> restOut, out bool badOut)
        {
            okOut = Ok;
            restOut = Rest;
            badOut = Bad;
        }
    }

    private static ChunkResult MatchChunk(ReadOnlySpan<int> chunk, ReadOnlySpan<int> s)
    {
        // After a mismatch keep scanning the chunk for syntax errors without reading s.
        var failed = false;
        while (chunk.Length > 0)
        {
            if (!failed && s.Length == 0)
                failed = true;
            switch (chunk[0])
            {
                case '[':
                {
                    var r = 0;
                    if (!failed)
                    {
                        r = s[0];
                        s = s[1..];
                    }
                    chunk = chunk[1..];
                    var negated = false;
                    if (chunk.Length > 0 && chunk[0] == '^')
                    {
                        negated = true;
                        chunk = chunk[1..];
                    }
                    var match = false;
                    var nrange = 0;
                    while (true)
                    {
                        if (chunk.Length > 0 && chunk[0] == ']' && nrange > 0)
                        {
                            chunk = chunk[1..];
                            break;
                        }
                        if (!GetEsc(ref chunk, out var lo))
                            return new ChunkResult(false, default, true);
                        var hi = lo;
                        if (chunk[0] == '-')
                        {
                            chunk = chunk[1..];
                            if (!GetEsc(ref chunk, out hi))
                                return new ChunkResult(false, default, true);
                        }
                        if (lo <= r && r <= hi)
                            match = true;
                        nrange++;
                    }
                    if (match == negated)
                        failed = true;
                    break;
                }
                case '?':
                    if (!failed)
                    {
                        if (s[0] == '/')
                            failed = true;
                        s = s[1..];
                    }
                    chunk = chunk[1..];
                    break;
                case '\\':
                    chunk = chunk[1..];
                    if (chunk.Length == 0)
                        return new ChunkResult(false, default, true);
                    goto default;
                default:
                    if (!failed)
                    {
                        if (chunk[0] != s[0])
                            failed = true;
                        s = s[1..];
                    }
                    chunk = chunk[1..];
                    break;
            }
        }
        return failed ? new ChunkResult(false, default, false) : new ChunkResult(true, s, false);
    }

    private static bool GetEsc(ref ReadOnlySpan<int> chunk, out int r)
    {
        r = 0;
        if (chunk.Length == 0 || chunk[0] == '-' || chunk[0] == ']')
            return false;
        if (chunk[0] == '\\')
        {
            chunk = chunk[1..];
            if (chunk.Length == 0)
                return false;
        }
        r = chunk[0];
        chunk = chunk[1..];
        // A class must be closed: running out of pattern here is an error.
        return chunk.Length > 0;
    }
}
