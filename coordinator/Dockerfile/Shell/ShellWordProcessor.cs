using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>State of one expansion call (scanner position, raw-escape mode, referenced variables).</summary>
internal sealed class ShellWordProcessor
{
    private readonly ShellLexer _lexer;
    private readonly IShellEnvironment _env;
    private readonly int[] _src;
    private int _pos;
    private bool _rawEscapes;

    public ShellWordProcessor(ShellLexer lexer, IShellEnvironment env, string word)
    {
        _lexer = lexer;
        _env = env;
        _src = RuneText.ToRunes(word);
        _rawEscapes = lexer.RawEscapes;
        // Go's text/scanner skips a byte-order mark at the very start.
        if (_src.Length > 0 && _src[0] == 0xFEFF)
        {
            _pos = 1;
        }
    }

    public HashSet<string> Matched { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Unmatched { get; } = new(StringComparer.Ordinal);

    private int Peek() => _pos < _src.Length ? _src[_pos] : RuneText.Eof;

    private int Next() => _pos < _src.Length ? _src[_pos++] : RuneText.Eof;

    public (string Result, IReadOnlyList<string> Words) ProcessAll() => ProcessStopOn(RuneText.Eof, _rawEscapes);

    private (string Result, List<string> Words) ProcessStopOn(int stopChar, bool rawEscapes)
    {
        var result = new StringBuilder();
        var words = new WordSplitter();
        var saved = _rawEscapes;
        _rawEscapes = rawEscapes;
        try
        {
            while (Peek() != RuneText.Eof)
            {
                var ch = Peek();
                if (stopChar != RuneText.Eof && ch == stopChar)
                {
                    Next();
                    return (result.ToString(), words.GetWords());
                }
                string? special = ch switch
                {
                    '$' => ProcessDollar(),
                    '<' => ProcessPossibleHeredoc(),
                    '\'' when !_lexer.SkipProcessQuotes => ProcessSingleQuote(),
                    '"' when !_lexer.SkipProcessQuotes => ProcessDoubleQuote(),
                    _ => null,
                };
                if (special != null)
                {
                    result.Append(special);
                    if (ch == '$')
                    {
                        words.AddString(special);
                    }
                    else
                    {
                        words.AddRawString(special);
                    }
                    continue;
                }
                ch = Next();
                if (ch == _lexer.EscapeToken)
                {
                    if (_rawEscapes)
                    {
                        words.AddRawChar(ch);
                        RuneText.Append(result, ch);
                    }
                    // The escape character quotes the next one, except at the end of the word.
                    ch = Next();
                    if (ch == RuneText.Eof)
                    {
                        break;
                    }
                    words.AddRawChar(ch);
                }
                else
                {
                    words.AddChar(ch);
                }
                RuneText.Append(result, ch);
            }
            if (stopChar != RuneText.Eof)
            {
                throw new ShellSyntaxException($"unexpected end of statement while looking for matching {RuneText.FromRunes([stopChar])}");
            }
            return (result.ToString(), words.GetWords());
        }
        finally
        {
            _rawEscapes = saved;
        }
    }

    private string ProcessSingleQuote()
    {
        // Everything up to the next ' is literal; a ' cannot be escaped inside.
        var result = new StringBuilder();
        var ch = Next();
        if (_lexer.RawQuotes)
        {
            RuneText.Append(result, ch);
        }
        while (true)
        {
            ch = Next();
            if (ch == RuneText.Eof)
            {
                throw new ShellSyntaxException("unexpected end of statement while looking for matching single-quote");
            }
            if (ch == '\'')
            {
                if (_lexer.RawQuotes)
                {
                    RuneText.Append(result, ch);
                }
                return result.ToString();
            }
            RuneText.Append(result, ch);
        }
    }

    private string ProcessDoubleQuote()
    {
        // Literal except $ expansions; the escape character quotes only " $ and itself.
        var result = new StringBuilder();
        var ch = Next();
        if (_lexer.RawQuotes)
        {
            RuneText.Append(result, ch);
        }
        while (true)
        {
            switch (Peek())
            {
                case RuneText.Eof:
                    throw new ShellSyntaxException("unexpected end of statement while looking for matching double-quote");
                case '"':
                    ch = Next();
                    if (_lexer.RawQuotes)
                    {
                        RuneText.Append(result, ch);
                    }
                    return result.ToString();
                case '$':
                    result.Append(ProcessDollar());
                    break;
                default:
                    ch = Next();
                    if (ch == _lexer.EscapeToken)
                    {
                        if (_rawEscapes)
                        {
                            RuneText.Append(result, ch);
                        }
                        var peek = Peek();
                        if (peek == RuneText.Eof)
                        {
                            continue;
                        }
                        if (peek == '"' || peek == '$' || peek == _lexer.EscapeToken)
                        {
                            ch = Next();
                        }
                    }
                    RuneText.Append(result, ch);
                    break;
            }
        }
    }

    private string ProcessDollar()
    {
        Next();
        if (Peek() != '{')
        {
            var simple = ProcessName();
            if (simple.Length == 0)
            {
                return "$";
            }
            var found = GetEnv(simple, out var v);
            if (!found && _lexer.SkipUnsetEnv)
            {
                return "$" + simple;
            }
            return v;
        }
        Next();
        switch (Peek())
        {
            case RuneText.Eof:
                throw new ShellSyntaxException("syntax error: missing '}'");
            case '{' or '}' or ':':
                throw new ShellSyntaxException("syntax error: bad substitution");
        }
        var name = ProcessName();
        var ch = Next();
        var chs = ch == RuneText.Eof ? "\uFFFD" : RuneText.FromRunes([ch]);
        var nullIsUnset = false;
        switch (ch)
        {
            case '}':
            {
                var set = GetEnv(name, out var value);
                if (!set && _lexer.SkipUnsetEnv)
                {
                    return "${" + name + "}";
                }
                return value;
            }
            case ':' or '+' or '-' or '?' or '#' or '%':
                if (ch == ':')
                {
                    nullIsUnset = true;
                    ch = Next();
                    chs += ch == RuneText.Eof ? "\uFFFD" : RuneText.FromRunes([ch]);
                }
                return ProcessModifier(name, ch, chs, nullIsUnset);
            case '/':
                return ProcessReplace(name);
            default:
                throw new ShellSyntaxException($"unsupported modifier ({chs}) in substitution");
        }
    }

    private string ProcessModifier(string name, int ch, string chs, bool nullIsUnset)
    {
        var rawEscapes = ch == '#' || ch == '%';
        if (nullIsUnset && rawEscapes)
        {
            throw new ShellSyntaxException($"unsupported modifier ({chs}) in substitution");
        }
        string word;
        try
        {
            word = ProcessStopOn('}', rawEscapes).Result;
        }
        catch (ShellSyntaxException) when (Peek() == RuneText.Eof)
        {
            throw new ShellSyntaxException("syntax error: missing '}'");
        }
        var set = GetEnv(name, out var value);
        if (_lexer.SkipUnsetEnv && !set)
        {
            return "${" + name + chs + word + "}";
        }
        switch (ch)
        {
            case '-':
                return !set || (nullIsUnset && value.Length == 0) ? word : value;
            case '+':
                return !set || (nullIsUnset && value.Length == 0) ? "" : word;
            case '?':
                if (!set)
                {
                    throw new ShellSyntaxException($"{name}: {(word.Length > 0 ? word : "is not allowed to be unset")}");
                }
                if (nullIsUnset && value.Length == 0)
                {
                    throw new ShellSyntaxException($"{name}: {(word.Length > 0 ? word : "is not allowed to be empty")}");
                }
                return value;
            case '%' or '#':
            {
                // One '%'/'#' removes the shortest match, two the longest.
                var greedy = false;
                if (word.Length > 0 && word[0] == ch)
                {
                    greedy = true;
                    word = word[1..];
                }
                if (ch == '%')
                {
                    var reversed = ShellPattern.Compile(ShellPattern.ReversePattern(word), greedy, word);
                    return ShellPattern.ReverseString(reversed.TrimPrefix(ShellPattern.ReverseString(value)));
                }
                return ShellPattern.Compile(word, greedy, word).TrimPrefix(value);
            }
            default:
                throw new ShellSyntaxException($"unsupported modifier ({chs}) in substitution");
        }
    }

    private string ProcessReplace(string name)
    {
        var replaceAll = Peek() == '/';
        if (replaceAll)
        {
            Next();
        }
        string pattern;
        try
        {
            pattern = ProcessStopOn('/', true).Result;
        }
        catch (ShellSyntaxException) when (Peek() == RuneText.Eof)
        {
            throw new ShellSyntaxException("syntax error: missing '/' in ${}");
        }
        string replacement;
        try
        {
            replacement = ProcessStopOn('}', true).Result;
        }
        catch (ShellSyntaxException) when (Peek() == RuneText.Eof)
        {
            throw new ShellSyntaxException("syntax error: missing '}'");
        }
        var set = GetEnv(name, out var value);
        if (_lexer.SkipUnsetEnv && !set)
        {
            return "${" + name + "/" + pattern + "/" + replacement + "}";
        }
        var compiled = ShellPattern.Compile(pattern, true, pattern);
        return replaceAll ? compiled.ReplaceAll(value, replacement) : compiled.ReplaceFirst(value, replacement);
    }

    private string ProcessName()
    {
        // A name is letters, digits and '_'; a leading digit reads a positional number;
        // a special parameter ($@, $?, ...) is one character.
        var name = new StringBuilder();
        while (Peek() != RuneText.Eof)
        {
            var ch = Peek();
            if (name.Length == 0 && RuneText.IsDigit(ch))
            {
                while (Peek() != RuneText.Eof && RuneText.IsDigit(Peek()))
                {
                    RuneText.Append(name, Next());
                }
                return name.ToString();
            }
            if (name.Length == 0 && IsSpecialParam(ch))
            {
                return RuneText.FromRunes([Next()]);
            }
            if (!RuneText.IsLetter(ch) && !RuneText.IsDigit(ch) && ch != '_')
            {
                break;
            }
            RuneText.Append(name, Next());
        }
        return name.ToString();
    }

    private static bool IsSpecialParam(int ch) => ch is '@' or '*' or '#' or '?' or '-' or '$' or '!' or '0';

    private string ProcessPossibleHeredoc()
    {
        Next();
        if (Peek() != '<')
        {
            return "<";
        }
        Next();
        // Whitespace between << and the delimiter word belongs to the heredoc marker.
        var sb = new StringBuilder("<<");
        while (Peek() is '\t' or '\r' or ' ')
        {
            RuneText.Append(sb, Next());
        }
        return sb.ToString();
    }

    private bool GetEnv(string name, out string value)
    {
        if (_env.TryGet(name, out value))
        {
            Matched.Add(name);
            return true;
        }
        Unmatched.Add(name);
        value = "";
        return false;
    }
}
