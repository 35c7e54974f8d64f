namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]... src... dest</c>.</summary>
public sealed record CopyInstruction : Instruction, IExpandableInstruction
{
    public required IReadOnlyList<string> SourcePaths { get; init; }
    public required IReadOnlyList<SourceContent> SourceContents { get; init; }
    public required string DestPath { get; init; }
    /// <summary>Stage name, stage index or image reference; "" for the build context.</summary>
    public string From { get; init; } = "";
    public string Chown { get; init; } = "";
    public string Chmod { get; init; } = "";
    public bool Link { get; init; }
    public bool Parents { get; init; }
    public IReadOnlyList<string> ExcludePatterns { get; init; } = [];
    /// <summary>True when the arguments were written as a JSON array.</summary>
    public bool IsJson { get; init; }

    /// <summary>Expands flags, paths and destination (BuildKit expands <c>--from</c> separately, see the planner).</summary>
    public Instruction Expand(Func<string, string> expand) => this with
    {
        Chown = expand(Chown),
        Chmod = expand(Chmod),
        SourcePaths = SourcePaths.Select(expand).ToArray(),
        DestPath = expand(DestPath),
    };

    /// <summary>Expands the bodies of heredoc sources whose delimiter was not quoted.</summary>
    public CopyInstruction ExpandContents(Func<string, string> expand) =>
        this with { SourceContents = SourceContents.Select(c => c.Expand ? c with { Data = expand(c.Data) } : c).ToArray() };
}
