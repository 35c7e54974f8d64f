using System.Globalization;
using System.Text.RegularExpressions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Recognises heredoc words (<c>&lt;&lt;EOF</c>, <c>&lt;&lt;-'EOF'</c>, <c>3&lt;&lt;EOF</c>) as BuildKit does.</summary>
public static partial class HeredocParser
{
    /// <summary>
    /// BuildKit's <c>^(\d*)&lt;&lt;(-?)\s*([^&lt;]*)$</c> (ASCII digits; Go's <c>\s</c> = [\t\n\f\r ]), matched by hand:
    /// a backtracking engine would go quadratic on long white-space runs. The match exists exactly when
    /// no '&lt;' follows the marker, and the greedy groups then take the '-' and all leading white space.
    /// </summary>
    private static (string Fd, bool Chomp, string Delimiter)? MatchHeredoc(string word)
    {
        var i = 0;
        while (i < word.Length && char.IsAsciiDigit(word[i]))
        {
            i++;
        }
        if (i + 1 >= word.Length || word[i] != '<' || word[i + 1] != '<')
        {
            return null;
        }
        var fd = word[..i];
        i += 2;
        var chomp = i < word.Length && word[i] == '-';
        if (chomp)
        {
            i++;
        }
        while (i < word.Length && word[i] is '\t' or '\n' or '\f' or '\r' or ' ')
        {
            i++;
        }
        var rest = word[i..];
        return rest.Contains('<') ? null : (fd, chomp, rest);
    }

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
        if (MatchHeredoc(word) is not (string fdText, bool chomp, string rest))
        {
            return null;
        }
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
        ulong fd = 0;
        if (fdText.Length > 0 && !ulong.TryParse(fdText, NumberStyles.None, CultureInfo.InvariantCulture, out fd))
        {
            fd = ulong.MaxValue; // Go's ParseUint saturates on overflow and the error is ignored.
        }
        return new Heredoc(words[0], "", expand, chomp, fd);
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
