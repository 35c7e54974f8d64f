namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// Reads parser directives line by line: only at the top of the file, names case-insensitive,
/// each at most once; the first line that is not a known directive ends the directive block.
/// </summary>
public sealed class DirectiveParser
{
    public const string Syntax = "syntax";
    public const string Escape = "escape";
    public const string Check = "check";

    private readonly string _comment;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private int _line;
    private bool _done;

    public DirectiveParser(string commentPrefix = "#", int firstLine = 0)
    {
        _comment = commentPrefix;
        _line = firstLine;
    }

    /// <summary>
    /// BuildKit's <c>^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$</c> (Go's <c>\s</c> = [\t\n\f\r ]), matched by hand so
    /// a long line cannot make a backtracking engine go quadratic. When only white space follows
    /// '=', the regexp still matches: its lazy group takes the last white-space character.
    /// </summary>
    private static (string Name, string Value)? MatchDirective(string line)
    {
        static bool IsSpace(char c) => c is '\t' or '\n' or '\f' or '\r' or ' ';
        if (line.Length == 0 || !char.IsAsciiLetter(line[0]))
        {
            return null;
        }
        var i = 1;
        while (i < line.Length && char.IsAsciiLetterOrDigit(line[i]))
        {
            i++;
        }
        var name = line[..i];
        while (i < line.Length && IsSpace(line[i]))
        {
            i++;
        }
        if (i >= line.Length || line[i] != '=')
        {
            return null;
        }
        i++;
        var wsStart = i;
        while (i < line.Length && IsSpace(line[i]))
        {
            i++;
        }
        string value;
        if (i < line.Length)
        {
            var end = line.Length;
            while (end > i && IsSpace(line[end - 1]))
            {
                end--;
            }
            value = line[i..end];
        }
        else if (i > wsStart)
        {
            value = line[^1..];
        }
        else
        {
            return null;
        }
        return value.Contains('\n') ? null : (name, value);
    }

    /// <summary>Null when the line is not a directive; throws on a repeated directive.</summary>
    public Directive? ParseLine(string line)
    {
        _line++;
        if (_done)
        {
            return null;
        }
        if (!line.StartsWith(_comment, StringComparison.Ordinal))
        {
            _done = true;
            return null;
        }
        var rest = GoText.TrimLeftSpace(line[_comment.Length..]);
        var match = MatchDirective(rest);
        if (match == null)
        {
            _done = true;
            return null;
        }
        var name = match.Value.Name.ToLowerInvariant();
        if (name is not (Syntax or Escape or Check))
        {
            _done = true;
            return null;
        }
        if (!_seen.Add(name))
        {
            throw new DockerfileException($"only one {name} parser directive can be used", line: _line);
        }
        return new Directive(name, match.Value.Value, _line);
    }

    /// <summary>All directives at the top of <paramref name="text"/>.</summary>
    public IReadOnlyList<Directive> ParseAll(string text)
    {
        var result = new List<Directive>();
        var error = ParseAllInto(text, result);
        return error == null ? result : throw error;
    }

    /// <summary>Collects directives until the block ends or an error; returns the error instead of throwing.</summary>
    internal DockerfileException? ParseAllInto(string text, List<Directive> result)
    {
        foreach (var line in SplitLines(text))
        {
            if (_done)
            {
                break;
            }
            try
            {
                var d = ParseLine(line);
                if (d != null)
                {
                    result.Add(d);
                }
            }
            catch (DockerfileException e)
            {
                return e;
            }
        }
        return null;
    }

    /// <summary>Lines without their "\n" (and one trailing "\r"), as Go's bufio.ScanLines gives them.</summary>
    internal static IEnumerable<string> SplitLines(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var end = nl < 0 ? text.Length : nl;
            var line = text[start..end];
            if (line.EndsWith('\r'))
            {
                line = line[..^1];
            }
            yield return line;
            start = nl < 0 ? text.Length : nl + 1;
        }
    }
}
