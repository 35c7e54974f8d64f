namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// One build stage: its FROM (base image text, platform text, name), 0-based index and the
/// instructions that follow until the next FROM.
/// </summary>
public sealed record Stage(int Index, FromInstruction From, IReadOnlyList<Instruction> Instructions)
{
    /// <summary>Lower-cased stage name, "" when unnamed.</summary>
    public string Name => From.StageName;

    /// <summary>The base image or stage, as written (may contain ARG references).</summary>
    public string BaseName => From.BaseName;

    /// <summary>The <c>--platform</c> value as written, "" when absent.</summary>
    public string Platform => From.Platform;

    /// <summary>Comment above the FROM that starts with the stage name (name removed).</summary>
    public string DocComment => From.DocComment;

    public string SourceCode => From.SourceCode;

    public SourceLocation Location => From.Location;

    public IReadOnlyList<string> Comments => From.Comments;
}
