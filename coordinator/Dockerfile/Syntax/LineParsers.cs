using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Per-instruction argument parsers (BuildKit's line_parsers.go): they build the argument chain.</summary>
internal static class LineParsers
{
    public static LineParser For(string command) => command.ToLowerInvariant() switch
    {
        "add" or "copy" or "volume" => MaybeJsonToList,
        "arg" => NameOrNameVal,
        "cmd" or "entrypoint" or "run" or "shell" => MaybeJson,
        "env" => (rest, esc, _) => (NameVal(rest, "ENV", esc), false),
        "label" => (rest, esc, _) => (NameVal(rest, "LABEL", esc), false),
        "expose" or "from" => (rest, _, _) => (WhitespaceDelimited(rest), false),
        "healthcheck" => HealthConfig,
        "maintainer" or "stopsignal" or "user" or "workdir" => (rest, _, _) => (rest.Length == 0 ? null : new Node { Value = rest }, false),
        "onbuild" => SubCommand,
        _ => (_, _, _) => (new Node(), false), // unknown instructions are rejected later, by the typed layer
    };

    private static (Node?, bool) SubCommand(string rest, char escapeToken, Func<string, Node> subCommand)
    {
        if (rest.Length == 0)
        {
            return (null, false);
        }
        var holder = new Node();
        holder.AddChild(subCommand(rest));
        return (holder, false);
    }

    /// <summary>Words split on unquoted whitespace; quotes and escapes are kept in the words.</summary>
    public static List<string> ParseWords(string rest, char escapeToken)
    {
        const int inSpaces = 0, inWord = 1, inQuote = 2;
        var words = new List<string>();
        var phase = inSpaces;
        var quote = 0;
        var blankOk = false;
        var sb = new StringBuilder();
        var runes = Shell.RuneText.ToRunes(rest);
        var ch = 0;
        for (var pos = 0; pos <= runes.Length; pos++)
        {
            if (pos != runes.Length)
            {
                ch = runes[pos];
            }
            if (phase == inSpaces)
            {
                if (pos == runes.Length)
                {
                    break;
                }
                if (Shell.RuneText.IsSpace(ch))
                {
                    continue;
                }
                phase = inWord;
            }
            if (pos == runes.Length)
            {
                if (blankOk || sb.Length > 0)
                {
                    words.Add(sb.ToString());
                }
                break;
            }
            if (phase == inWord)
            {
                if (Shell.RuneText.IsSpace(ch))
                {
                    phase = inSpaces;
                    if (blankOk || sb.Length > 0)
                    {
                        words.Add(sb.ToString());
                    }
                    sb.Clear();
                    blankOk = false;
                    continue;
                }
                if (ch is '\'' or '"')
                {
                    quote = ch;
                    blankOk = true;
                    phase = inQuote;
                }
                if (ch == escapeToken)
                {
                    if (pos + 1 == runes.Length)
                    {
                        continue; // an escape at the very end is dropped
                    }
                    // Unquoted escape: keep it and the next character, even a quote.
                    Shell.RuneText.Append(sb, ch);
                    pos++;
                    ch = runes[pos];
                }
                Shell.RuneText.Append(sb, ch);
                continue;
            }
            // inQuote
            if (ch == quote)
            {
                phase = inWord;
            }
            if (ch == escapeToken && quote != '\'')
            {
                if (pos + 1 == runes.Length)
                {
                    phase = inWord;
                    continue;
                }
                pos++;
                Shell.RuneText.Append(sb, ch);
                ch = runes[pos];
            }
            Shell.RuneText.Append(sb, ch);
        }
        return words;
    }

    /// <summary>ENV/LABEL: legacy <c>key value</c> gives (key, value, ""); <c>k=v ...</c> gives triples (k, v, "=").</summary>
    public static Node? NameVal(string rest, string key, char escapeToken)
    {
        var words = ParseWords(rest, escapeToken);
        if (words.Count == 0)
        {
            return null;
        }
        if (!words[0].Contains('='))
        {
            var parts = GoText.SplitWhitespace(rest, 2);
            if (parts.Count < 2)
            {
                throw new DockerfileException($"{key} must have two arguments");
            }
            return KeyValueNode(parts[0], parts[1], "");
        }
        Node? root = null;
        Node? last = null;
        foreach (var word in words)
        {
            var eq = word.IndexOf('=');
            if (eq < 0)
            {
                throw new DockerfileException($"Syntax error - can't find = in {GoQuote.Quote(word)}. Must be of the form: name=value");
            }
            var node = KeyValueNode(word[..eq], word[(eq + 1)..], "=");
            if (root == null)
            {
                root = node;
            }
            else
            {
                last!.Next = node;
            }
            last = node.Next!.Next;
        }
        return root;
    }

    private static Node KeyValueNode(string key, string value, string sep) =>
        new() { Value = key, Next = new Node { Value = value, Next = new Node { Value = sep } } };

    private static (Node?, bool) NameOrNameVal(string rest, char escapeToken, Func<string, Node> _) =>
        (Chain(ParseWords(rest, escapeToken)), false);

    public static Node? WhitespaceDelimited(string rest) => rest.Length == 0 ? null : Chain(GoText.SplitWhitespace(rest, -1));

    private static Node? Chain(IEnumerable<string> values)
    {
        Node? root = null;
        Node? prev = null;
        foreach (var v in values)
        {
            var n = new Node { Value = v };
            if (prev == null)
            {
                root = n;
            }
            else
            {
                prev.Next = n;
            }
            prev = n;
        }
        return root;
    }

    private static (Node?, bool) MaybeJson(string rest, char escapeToken, Func<string, Node> _)
    {
        if (rest.Length == 0)
        {
            return (null, false);
        }
        var json = ExecFormParser.TryParse(rest);
        return json != null ? (Chain(json), true) : (new Node { Value = rest }, false);
    }

    private static (Node?, bool) MaybeJsonToList(string rest, char escapeToken, Func<string, Node> _)
    {
        var json = ExecFormParser.TryParse(rest);
        return json != null ? (Chain(json), true) : (WhitespaceDelimited(rest), false);
    }

    private static (Node?, bool) HealthConfig(string rest, char escapeToken, Func<string, Node> sub)
    {
        var sep = 0;
        while (sep < rest.Length && !GoText.IsSpace(rest[sep]))
        {
            sep++;
        }
        var next = sep;
        while (next < rest.Length && GoText.IsSpace(rest[next]))
        {
            next++;
        }
        if (sep == 0)
        {
            return (null, false);
        }
        var (cmd, isJson) = MaybeJson(rest[next..], escapeToken, sub);
        return (new Node { Value = rest[..sep], Next = cmd }, isJson);
    }
}
