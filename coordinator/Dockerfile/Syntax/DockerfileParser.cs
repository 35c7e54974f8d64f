using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// Dockerfile text → parse tree, with BuildKit's rules: parser directives at the top, comments,
/// line continuations with the escape character (empty continuation lines only warn),
/// heredocs, exec vs shell form, <c>--flags</c>, ONBUILD nesting and line spans.
/// Pure: no I/O beyond the text given.
/// </summary>
public static class DockerfileParser
{
    public const char DefaultEscapeToken = '\\';

    /// <summary>Parses UTF-8 bytes (a leading BOM is ignored).</summary>
    public static ParseResult Parse(ReadOnlySpan<byte> utf8, string fileName = "Dockerfile") =>
        Parse(Encoding.UTF8.GetString(utf8), fileName);

    /// <exception cref="DockerfileException">for any syntax error, with file, line and column.</exception>
    public static ParseResult Parse(string text, string fileName = "Dockerfile") => new ParserRun(text, fileName).Parse();
}
