using System.Globalization;
using System.Text.RegularExpressions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Recognises heredoc words (<c>&lt;&lt;EOF</c>, <c>&lt;&lt;-'EOF'</c>, <c>3&lt;&lt;EOF</c>) as BuildKit does.</summary>
public static partial class HeredocParser
{
    // Go: ^(\d*)<<(-?)\s*([^<]*)$ with ASCII \d and \s = [\t\n\f\r ].
    [GeneratedRegex(@"\A([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex HeredocRegex();

    [GeneratedRegex(@"^\t+", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LeadingTabsRegex();

    private static readonly ShellLexer WordLexer = new('\\') { SkipUnsetEnv = true };
    private static readonly ShellLexer RawWordLexer = new('\\') { SkipUnsetEnv = true, RawQuotes = true };
    private static readonly ShellLexer LineLexer = new('\\') { SkipUnsetEnv = true, RawQuotes = true, RawEscapes = true };

    /// <summary>
    /// The heredoc a single word introduces, or null when it is not one (e.g. <c>&lt;&lt;EOF sh</c>, <c>&lt;&lt;</c>).
    /// Throws on an unterminated quote in the delimiter. The returned <see cref="Heredoc.Content"/> is empty.
    /// </summary>
    public static Heredoc? ParseHeredoc(string word)
    {
        var match = HeredocRegex().Match(word);
        if (!match.Success)
        {
            return null;
        }
        var rest = match.Groups[3].Value;
        if (rest.Length == 0)
        {
            return null;
        }
        var words = WordLexer.ProcessWords(rest, ShellEnvironment.Empty);
        if (words.Count != 1)
        {
            return null;
        }
        var rawWords = RawWordLexer.ProcessWords(rest, ShellEnvironment.Empty);
        if (rawWords.Count != words.Count)
        {
            throw new DockerfileException($"internal lexing of heredoc produced inconsistent results: {rest}");
        }
        // If quoting removed quote characters, part of the delimiter was quoted: no expansion.
        var expand = CountQuotes(words[0]) == CountQuotes(rawWords[0]);
        var fdText = match.Groups[1].Value;
        ulong fd = 0;
        if (fdText.Length > 0 && !ulong.TryParse(fdText, NumberStyles.None, CultureInfo.InvariantCulture, out fd))
        {
            fd = ulong.MaxValue; // Go's ParseUint saturates on overflow and the error is ignored.
        }
        return new Heredoc(words[0], "", expand, match.Groups[2].Value == "-", fd);
    }

    /// <summary>Like <see cref="ParseHeredoc"/> but an invalid word counts as "not a heredoc".</summary>
    public static Heredoc? TryParseHeredoc(string word)
    {
        try
        {
            return ParseHeredoc(word);
        }
        catch (DockerfileException)
        {
            return null;
        }
    }

    /// <summary>The heredocs introduced anywhere on an instruction line, in order.</summary>
    public static IReadOnlyList<Heredoc> HeredocsFromLine(string line)
    {
        IReadOnlyList<string> words;
        try
        {
            words = LineLexer.ProcessWords(line, ShellEnvironment.Empty);
        }
        catch (DockerfileException)
        {
            // BuildKit ignores a lexing error here: the line then has no heredocs.
            return [];
        }
        var docs = new List<Heredoc>();
        foreach (var word in words)
        {
            var heredoc = ParseHeredoc(word);
            if (heredoc != null)
            {
                docs.Add(heredoc);
            }
        }
        return docs;
    }

    /// <summary>Strips leading tabs from every line (the <c>&lt;&lt;-</c> form).</summary>
    public static string ChompHeredocContent(string content) => LeadingTabsRegex().Replace(content, "");

    private static int CountQuotes(string s) => s.Count(c => c is '\'' or '"');
}
