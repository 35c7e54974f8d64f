namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>
/// The glob patterns of <c>${V#p}</c>, <c>${V%p}</c> and <c>${V/p/r}</c>: <c>*</c> any run and
/// <c>?</c> any one character (neither crosses a newline, as in BuildKit's regexp translation),
/// <c>\*</c>, <c>\?</c>, <c>\\</c> literal, <c>\}</c> and <c>\/</c> drop the backslash.
/// Matching gives the same match as leftmost-first backtracking, computed without backtracking.
/// </summary>
internal sealed class ShellPattern
{
    private const int Star = -2;
    private const int AnyOne = -3;

    private readonly int[] _tokens;
    private readonly bool _greedy;

    private ShellPattern(int[] tokens, bool greedy)
    {
        _tokens = tokens;
        _greedy = greedy;
    }

    public static ShellPattern Compile(string pattern, bool greedy, string shownPattern)
    {
        var src = RuneText.ToRunes(pattern);
        var tokens = new List<int>();
        for (var i = 0; i < src.Length; i++)
        {
            var tok = src[i];
            switch (tok)
            {
                case '*':
                    // "**" matches exactly what "*" does, in the same priority order.
                    if (tokens.Count == 0 || tokens[^1] != Star)
                    {
                        tokens.Add(Star);
                    }
                    continue;
                case '?':
                    tokens.Add(AnyOne);
                    continue;
                case '\\':
                    var peek = i + 1 < src.Length ? src[i + 1] : RuneText.Eof;
                    if (peek == '}' || peek == '/')
                    {
                        continue;
                    }
                    i++;
                    if (peek != '*' && peek != '?' && peek != '\\')
                    {
                        var shown = peek == RuneText.Eof ? "\uFFFD" : RuneText.FromRunes([peek]);
                        throw new ShellSyntaxException($"invalid pattern ({shownPattern}) in substitution: invalid escape '\\{shown}'");
                    }
                    tokens.Add(peek);
                    continue;
                default:
                    tokens.Add(tok);
                    continue;
            }
        }
        return new ShellPattern(tokens.ToArray(), greedy);
    }

    /// <summary>
    /// For every start position, the end of the first match in backtracking priority order (-1 when none).
    /// The pattern is literal segments separated by stars; since all stars share one greediness, the
    /// choice for star k from position p is the last (greedy) or first (lazy) end e in p's newline-free
    /// run after which the rest matches. Computed right to left per star: O(value length × pattern length).
    /// </summary>
    private int[] MatchEnds(int[] value)
    {
        var segments = new List<List<int>> { new() };
        foreach (var tok in _tokens)
        {
            if (tok == Star)
            {
                segments.Add([]);
            }
            else
            {
                segments[^1].Add(tok);
            }
        }
        var n = value.Length;
        var stars = segments.Count - 1;
        int[]? best = null; // best[p]: match end when star k starts at p
        for (var k = stars - 1; k >= 0; k--)
        {
            var seg = segments[k + 1];
            var rest = new int[n + 1];
            for (var e = 0; e <= n; e++)
            {
                var q = Advance(seg, value, e);
                rest[e] = q < 0 ? -1 : (k + 1 == stars ? q : best![q]);
            }
            var next = new int[n + 1];
            var chosen = -1; // the chosen end for p+1 within the same run
            for (var p = n; p >= 0; p--)
            {
                var runEndsHere = p == n || value[p] == '\n';
                if (runEndsHere)
                {
                    chosen = rest[p] >= 0 ? p : -1;
                }
                else if (_greedy)
                {
                    chosen = chosen >= 0 ? chosen : (rest[p] >= 0 ? p : -1);
                }
                else
                {
                    chosen = rest[p] >= 0 ? p : chosen;
                }
                next[p] = chosen >= 0 ? rest[chosen] : -1;
            }
            best = next;
        }
        var result = new int[n + 1];
        for (var start = 0; start <= n; start++)
        {
            var q = Advance(segments[0], value, start);
            result[start] = q < 0 ? -1 : (stars == 0 ? q : best![q]);
        }
        return result;
    }

    /// <summary>Matches a star-free segment at <paramref name="at"/>: its end, or -1.</summary>
    private static int Advance(List<int> segment, int[] value, int at)
    {
        if (at + segment.Count > value.Length)
        {
            return -1;
        }
        for (var i = 0; i < segment.Count; i++)
        {
            var tok = segment[i];
            var v = value[at + i];
            if (tok == AnyOne ? v == '\n' : v != tok)
            {
                return -1;
            }
        }
        return at + segment.Count;
    }

    /// <summary>Removes the first match anchored at the start (for <c>#</c>/<c>##</c>).</summary>
    public string TrimPrefix(string value)
    {
        var runes = RuneText.ToRunes(value);
        var end = MatchEnds(runes)[0];
        return end < 0 ? value : RuneText.FromRunes(runes.Skip(end));
    }

    /// <summary>Replaces the leftmost match with <paramref name="replacement"/> taken literally.</summary>
    public string ReplaceFirst(string value, string replacement)
    {
        var runes = RuneText.ToRunes(value);
        var ends = MatchEnds(runes);
        for (var start = 0; start <= runes.Length; start++)
        {
            var end = ends[start];
            if (end >= 0)
            {
                return RuneText.FromRunes(runes.Take(start)) + replacement + RuneText.FromRunes(runes.Skip(end));
            }
        }
        return value;
    }

    /// <summary>
    /// Replaces every non-overlapping match, like Go's <c>Regexp.ReplaceAllString</c> (which BuildKit
    /// uses for <c>${V//p/r}</c>): an empty match right after a match is skipped, and the
    /// replacement is a template where <c>$$</c> is <c>$</c>, <c>$0</c> the match and any other
    /// <c>$name</c>/<c>${name}</c> is empty (the pattern has no groups).
    /// </summary>
    public string ReplaceAll(string value, string replacement)
    {
        var runes = RuneText.ToRunes(value);
        var ends = MatchEnds(runes);
        var output = new List<int>();
        var lastMatchEnd = 0;
        var searchPos = 0;
        while (searchPos <= runes.Length)
        {
            var start = -1;
            var end = -1;
            for (var s = searchPos; s <= runes.Length; s++)
            {
                var e = ends[s];
                if (e >= 0)
                {
                    start = s;
                    end = e;
                    break;
                }
            }
            if (start < 0)
            {
                break;
            }
            output.AddRange(runes[lastMatchEnd..start]);
            if (end > lastMatchEnd || start == 0)
            {
                ExpandTemplate(output, replacement, runes[start..end]);
            }
            lastMatchEnd = end;
            searchPos = searchPos + 1 > end ? searchPos + 1 : end;
        }
        output.AddRange(runes[lastMatchEnd..]);
        return RuneText.FromRunes(output);
    }

    private static void ExpandTemplate(List<int> output, string template, int[] match)
    {
        var t = RuneText.ToRunes(template);
        var i = 0;
        while (i < t.Length)
        {
            if (t[i] != '$')
            {
                output.Add(t[i++]);
                continue;
            }
            if (i + 1 < t.Length && t[i + 1] == '$')
            {
                output.Add('$');
                i += 2;
                continue;
            }
            // $name or ${name}; a malformed reference leaves the '$' as text.
            var j = i + 1;
            var braced = j < t.Length && t[j] == '{';
            if (braced)
            {
                j++;
            }
            var nameStart = j;
            while (j < t.Length && (RuneText.IsLetter(t[j]) || RuneText.IsDigit(t[j]) || t[j] == '_'))
            {
                j++;
            }
            var name = RuneText.FromRunes(t[nameStart..j]);
            if (name.Length == 0 || (braced && (j >= t.Length || t[j] != '}')))
            {
                output.Add('$');
                i++;
                continue;
            }
            if (braced)
            {
                j++;
            }
            if (IsGroupZero(name))
            {
                output.AddRange(match);
            }
            i = j;
        }
    }

    private static bool IsGroupZero(string name)
    {
        // Go parses all-digit names as group numbers; only group 0 exists here.
        foreach (var c in name)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return name.TrimStart('0').Length == 0;
    }

    /// <summary>Reverses a pattern but keeps each <c>\x</c> escape pair in order (for <c>%</c> suffix trimming).</summary>
    public static string ReversePattern(string pattern)
    {
        var p = RuneText.ToRunes(pattern);
        var output = new int[p.Length];
        var last = p.Length - 1;
        for (var i = 0; i <= last;)
        {
            var outIdx = last - i;
            if (p[i] == '\\' && i != last)
            {
                output[outIdx - 1] = p[i];
                output[outIdx] = p[i + 1];
                i += 2;
            }
            else
            {
                output[outIdx] = p[i];
                i++;
            }
        }
        return RuneText.FromRunes(output);
    }

    public static string ReverseString(string value)
    {
        var runes = RuneText.ToRunes(value);
        Array.Reverse(runes);
        return RuneText.FromRunes(runes);
    }
}
