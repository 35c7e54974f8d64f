using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Splits a logical line into keyword, leading <c>--flags</c> and the rest (BuildKit's splitCommand).</summary>
internal static class CommandSplitter
{
    public static (string Command, List<string> Flags, string Args) Split(string line, char escapeToken)
    {
        var parts = GoText.SplitWhitespace(GoText.TrimSpace(line), 2);
        var args = "";
        var flags = new List<string>();
        if (parts.Count == 2)
        {
            (args, flags) = ExtractBuilderFlags(parts[1], escapeToken);
        }
        return (parts[0], flags, GoText.TrimSpace(args));
    }

    /// <summary>Leading words that start with "--" are flags (quotes removed, escapes applied); "--" alone ends them.</summary>
    public static (string Remainder, List<string> Flags) ExtractBuilderFlags(string line, char escapeToken)
    {
        const int inSpaces = 0, inWord = 1, inQuote = 2;
        var words = new List<string>();
        var phase = inSpaces;
        var sb = new StringBuilder();
        var quote = '\0';
        var blankOk = false;
        var ch = '\0';
        for (var pos = 0; pos <= line.Length; pos++)
        {
            if (pos != line.Length)
            {
                ch = line[pos];
            }
            if (phase == inSpaces)
            {
                if (pos == line.Length)
                {
                    break;
                }
                if (GoText.IsSpace(ch))
                {
                    continue;
                }
                if (ch != '-' || pos + 1 == line.Length || line[pos + 1] != '-')
                {
                    return (line[pos..], words);
                }
                phase = inWord;
            }
            if (pos == line.Length)
            {
                var word = sb.ToString();
                if (word != "--" && (blankOk || word.Length > 0))
                {
                    words.Add(word);
                }
                break;
            }
            if (phase == inWord)
            {
                if (GoText.IsSpace(ch))
                {
                    var word = sb.ToString();
                    phase = inSpaces;
                    if (word == "--")
                    {
                        return (line[pos..], words);
                    }
                    if (blankOk || word.Length > 0)
                    {
                        words.Add(word);
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
                    continue;
                }
                if (ch == escapeToken)
                {
                    if (pos + 1 == line.Length)
                    {
                        continue;
                    }
                    pos++;
                    ch = line[pos];
                }
                sb.Append(ch);
                continue;
            }
            // inQuote
            if (ch == quote)
            {
                phase = inWord;
                continue;
            }
            if (ch == escapeToken)
            {
                if (pos + 1 == line.Length)
                {
                    phase = inWord;
                    continue;
                }
                pos++;
                ch = line[pos];
            }
            sb.Append(ch);
        }
        return ("", words);
    }
}
