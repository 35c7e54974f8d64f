namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>ENTRYPOINT</c> in exec or shell form (an empty exec form gives an empty command line).</summary>
public sealed record EntrypointInstruction(ShellDependentCommand Command) : Instruction;
