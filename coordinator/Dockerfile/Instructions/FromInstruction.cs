namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// <c>FROM [--platform=p] image [AS name]</c>: starts a stage. <see cref="StageName"/> is lower-cased
/// ("" when unnamed); <see cref="BaseName"/> and <see cref="Platform"/> are unexpanded.
/// </summary>
public sealed record FromInstruction(string BaseName, string StageName, string Platform, string DocComment) : Instruction;
