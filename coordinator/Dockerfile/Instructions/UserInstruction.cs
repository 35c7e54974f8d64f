namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>USER user[:group]</c>.</summary>
public sealed record UserInstruction(string User) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) => this with { User = expand(User) };
}
