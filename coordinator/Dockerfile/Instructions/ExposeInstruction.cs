namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>EXPOSE port[/proto]...</c> (ports sorted, unexpanded).</summary>
public sealed record ExposeInstruction(IReadOnlyList<string> Ports) : Instruction;
