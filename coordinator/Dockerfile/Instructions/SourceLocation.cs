namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Where an instruction is: 1-based start/end line (continuations and heredoc bodies included) and start column.</summary>
public sealed record SourceLocation(string FileName, int StartLine, int EndLine, int Column)
{
    /// <summary>For instructions built in code rather than parsed.</summary>
    public static SourceLocation None { get; } = new("", 0, 0, 0);

    public override string ToString() => $"{FileName}:{StartLine}:{Column}";
}
