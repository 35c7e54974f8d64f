namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>CMD</c> in exec or shell form.</summary>
public sealed record CmdInstruction(ShellDependentCommand Command) : Instruction;
