namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>
/// The glob patterns of <c>${V#p}</c>, <c>${V%p}</c> and <c>${V/p/r}</c>: <c>*</c> any run and
/// <c>?</c> any one character (neither crosses a newline, as in BuildKit's regexp translation),
/// <c>\*</c>, <c>\?</c>, <c>\\</c> literal, <c>\}</c> and <c>\/</c> drop the backslash.
/// Matching follows leftmost-first backtracking order; it is memoised so it stays polynomial.
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

    /// <summary>End of the first match (in backtracking priority order) that starts at <paramref name="start"/>, or -1.</summary>
    private int MatchAt(int[] value, int start, Dictionary<(int, int), int> memo)
    {
        // Only stars branch; runs of literals and '?' are matched in a loop. The search keeps its
        // own stack so that patterns with thousands of stars cannot overflow the thread's stack.
        var first = Advance(value, 0, start, out var ts, out var ss);
        if (first != NeedStar)
        {
            return first;
        }
        if (memo.TryGetValue((ts, ss), out var known))
        {
            return known;
        }
        var stack = new Stack<StarFrame>();
        stack.Push(NewFrame(value, ts, ss));
        int? returned = null;
        while (true)
        {
            var frame = stack.Peek();
            if (returned is int ret)
            {
                returned = null;
                if (ret >= 0)
                {
                    memo[(frame.Token, frame.Start)] = ret;
                    stack.Pop();
                    if (stack.Count == 0)
                    {
                        return ret;
                    }
                    returned = ret;
                    continue;
                }
                frame.Candidate += _greedy ? -1 : 1;
            }
            if (frame.Candidate < frame.Start || frame.Candidate > frame.Max)
            {
                memo[(frame.Token, frame.Start)] = -1;
                stack.Pop();
                if (stack.Count == 0)
                {
                    return -1;
                }
                returned = -1;
                continue;
            }
            var r = Advance(value, frame.Token + 1, frame.Candidate, out var nts, out var nss);
            if (r != NeedStar)
            {
                returned = r;
                continue;
            }
            if (memo.TryGetValue((nts, nss), out var m))
            {
                returned = m;
                continue;
            }
            stack.Push(NewFrame(value, nts, nss));
        }
    }

    private const int NeedStar = -2;

    /// <summary>Matches non-star tokens from (ti, si): -1 on mismatch, the end on pattern end, or <see cref="NeedStar"/> at a star.</summary>
    private int Advance(int[] value, int ti, int si, out int starToken, out int starStart)
    {
        starToken = -1;
        starStart = -1;
        while (ti < _tokens.Length)
        {
            var tok = _tokens[ti];
            if (tok == Star)
            {
                starToken = ti;
                starStart = si;
                return NeedStar;
            }
            if (si >= value.Length || (tok == AnyOne ? value[si] == '\n' : value[si] != tok))
            {
                return -1;
            }
            ti++;
            si++;
        }
        return si;
    }

    private StarFrame NewFrame(int[] value, int token, int start)
    {
        // A star covers a run of non-newline characters.
        var max = start;
        while (max < value.Length && value[max] != '\n')
        {
            max++;
        }
        return new StarFrame { Token = token, Start = start, Max = max, Candidate = _greedy ? max : start };
    }

    private sealed class StarFrame
    {
        public int Token;
        public int Start;
        public int Max;
        public int Candidate;
    }

    /// <summary>Removes the first match anchored at the start (for <c>#</c>/<c>##</c>).</summary>
    public string TrimPrefix(string value)
    {
        var runes = RuneText.ToRunes(value);
        var end = MatchAt(runes, 0, new Dictionary<(int, int), int>());
        return end < 0 ? value : RuneText.FromRunes(runes.Skip(end));
    }

    /// <summary>Replaces the leftmost match with <paramref name="replacement"/> taken literally.</summary>
    public string ReplaceFirst(string value, string replacement)
    {
        var runes = RuneText.ToRunes(value);
        var memo = new Dictionary<(int, int), int>();
        for (var start = 0; start <= runes.Length; start++)
        {
            var end = MatchAt(runes, start, memo);
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
        var memo = new Dictionary<(int, int), int>();
        var output = new List<int>();
        var lastMatchEnd = 0;
        var searchPos = 0;
        while (searchPos <= runes.Length)
        {
            var start = -1;
            var end = -1;
            for (var s = searchPos; s <= runes.Length; s++)
            {
                var e = MatchAt(runes, s, memo);
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
