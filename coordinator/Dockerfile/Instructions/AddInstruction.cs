namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>ADD [--chown] [--chmod] [--link] [--keep-git-dir] [--checksum] [--unpack] [--exclude]... src... dest</c>.</summary>
public sealed record AddInstruction : Instruction, IExpandableInstruction
{
    public required IReadOnlyList<string> SourcePaths { get; init; }
    public required IReadOnlyList<SourceContent> SourceContents { get; init; }
    public required string DestPath { get; init; }
    public string Chown { get; init; } = "";
    public string Chmod { get; init; } = "";
    public bool Link { get; init; }
    /// <summary>Null when the flag was not given.</summary>
    public bool? KeepGitDir { get; init; }
    public string Checksum { get; init; } = "";
    /// <summary>Null when the flag was not given (archives from the context are unpacked, URLs are not).</summary>
    public bool? Unpack { get; init; }
    public IReadOnlyList<string> ExcludePatterns { get; init; } = [];
    public bool IsJson { get; init; }

    public Instruction Expand(Func<string, string> expand) => this with
    {
        Chown = expand(Chown),
        Chmod = expand(Chmod),
        Checksum = expand(Checksum),
        SourcePaths = SourcePaths.Select(expand).ToArray(),
        DestPath = expand(DestPath),
    };

    public AddInstruction ExpandContents(Func<string, string> expand) =>
        this with { SourceContents = SourceContents.Select(c => c.Expand ? c with { Data = expand(c.Data) } : c).ToArray() };
}
