namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>WORKDIR path</c>.</summary>
public sealed record WorkdirInstruction(string Path) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) => this with { Path = expand(Path) };
}
