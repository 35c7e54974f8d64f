namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// A typed Dockerfile instruction (BuildKit's <c>instructions</c> package). Every instruction keeps
/// its keyword as written, its source text and position, and the comment lines above it.
/// </summary>
public abstract record Instruction
{
    /// <summary>The keyword as written (e.g. "run", "RUN").</summary>
    public string Name { get; init; } = "";

    /// <summary>The logical line as written (continuations joined), trimmed.</summary>
    public string SourceCode { get; init; } = "";

    public SourceLocation Location { get; init; } = SourceLocation.None;

    /// <summary>Comment lines directly above the instruction.</summary>
    public IReadOnlyList<string> Comments { get; init; } = [];

    /// <summary>The upper-cased keyword ("RUN").</summary>
    public string Keyword => Name.ToUpperInvariant();

    public override string ToString() => SourceCode;
}
