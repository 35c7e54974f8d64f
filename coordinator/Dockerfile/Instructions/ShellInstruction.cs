namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>SHELL ["executable", "parameters"]</c> (JSON form only).</summary>
public sealed record ShellInstruction(IReadOnlyList<string> Shell) : Instruction;
