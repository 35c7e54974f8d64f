namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>ENV k=v ...</c> or legacy <c>ENV k v</c>. Values are raw (quotes kept) until expanded.</summary>
public sealed record EnvInstruction(IReadOnlyList<KeyValue> Env) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) =>
        this with { Env = Env.Select(kv => kv with { Key = expand(kv.Key), Value = expand(kv.Value) }).ToArray() };
}
