namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>LABEL k=v ...</c>.</summary>
public sealed record LabelInstruction(IReadOnlyList<KeyValue> Labels) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) =>
        this with { Labels = Labels.Select(kv => kv with { Key = expand(kv.Key), Value = expand(kv.Value) }).ToArray() };
}
