namespace BuildFarm.Coordinator.Dockerfile;

/// <summary>
/// The only exception the Dockerfile frontend lets escape: a parse, instruction or expansion
/// error with the place it happened. <see cref="Reason"/> is the bare message (BuildKit's text);
/// <see cref="Exception.Message"/> prefixes it with <c>file:line:column: </c>.
/// </summary>
public sealed class DockerfileException : Exception
{
    public DockerfileException(string reason, string fileName = "Dockerfile", int line = 0, int column = 0, int endLine = 0, Exception? inner = null)
        : base(Format(reason, fileName, line, column), inner)
    {
        Reason = reason;
        FileName = fileName;
        Line = line;
        Column = column;
        EndLine = endLine < line ? line : endLine;
    }

    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; }

    public string FileName { get; }

    /// <summary>1-based line; 0 when the error has no place in the file (e.g. empty file).</summary>
    public int Line { get; }

    /// <summary>1-based column; 0 when unknown.</summary>
    public int Column { get; }

    public int EndLine { get; }

    /// <summary>The same error placed elsewhere (used when a lower layer did not know the position).</summary>
    public DockerfileException At(string fileName, int line, int column, int endLine = 0) =>
        new(Reason, fileName, line, column, endLine, InnerException);

    /// <summary>The same error placed at an instruction (for errors found while planning or expanding it).</summary>
    public DockerfileException At(Instructions.SourceLocation location) =>
        At(location.FileName, location.StartLine, location.Column, location.EndLine);

    private static string Format(string reason, string fileName, int line, int column)
    {
        if (line <= 0)
        {
            return $"{fileName}: {reason}";
        }
        return column > 0 ? $"{fileName}:{line}:{column}: {reason}" : $"{fileName}:{line}: {reason}";
    }
}
