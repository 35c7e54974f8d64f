namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>
/// Dockerfile shell-word lexer: quote removal, escapes and <c>$VAR</c>/<c>${VAR...}</c> expansion
/// with BuildKit's semantics (Unix). Immutable options; every call is independent, so one
/// instance may be shared between threads.
/// </summary>
public sealed record ShellLexer
{
    public ShellLexer(char escapeToken = '\\')
    {
        EscapeToken = escapeToken;
    }

    /// <summary>The escape character: <c>\</c> or <c>`</c> (<c># escape=</c> directive).</summary>
    public char EscapeToken { get; init; }

    /// <summary>Keep quote characters in the output (used to detect quoted heredoc words).</summary>
    public bool RawQuotes { get; init; }

    /// <summary>Keep escape characters in the output.</summary>
    public bool RawEscapes { get; init; }

    /// <summary>Treat quotes as ordinary characters.</summary>
    public bool SkipProcessQuotes { get; init; }

    /// <summary>Leave references to undefined variables as written instead of expanding them to "".</summary>
    public bool SkipUnsetEnv { get; init; }

    /// <summary>Expands <paramref name="word"/> into one string (quotes removed, no splitting).</summary>
    /// <exception cref="DockerfileException">on a syntax error or a failed <c>${V?msg}</c>.</exception>
    public string ProcessWord(string word, IShellEnvironment env) => Process(word, env).Result;

    /// <summary>Expands <paramref name="word"/> and reports which variables it referenced.</summary>
    public ShellWordResult ProcessWordWithMatches(string word, IShellEnvironment env) => Process(word, env);

    /// <summary>Expands and splits on unquoted whitespace (including whitespace that came from unquoted variables).</summary>
    public IReadOnlyList<string> ProcessWords(string word, IShellEnvironment env) => Process(word, env).Words;

    private ShellWordResult Process(string word, IShellEnvironment env)
    {
        var processor = new ShellWordProcessor(this, env, word);
        try
        {
            var (result, words) = processor.ProcessAll();
            return new ShellWordResult(result, words, processor.Matched, processor.Unmatched);
        }
        catch (ShellSyntaxException e)
        {
            throw new DockerfileException($"failed to process {GoQuote.Quote(word)}: {e.Message}");
        }
    }
}
