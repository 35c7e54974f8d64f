namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>ARG name[=default] ...</c>.</summary>
public sealed record ArgInstruction(IReadOnlyList<ArgDefinition> Args) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) =>
        this with { Args = Args.Select(a => a with { Key = expand(a.Key), Value = a.Value == null ? null : expand(a.Value) }).ToArray() };
}
