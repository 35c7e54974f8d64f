namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Deprecated <c>MAINTAINER name</c>.</summary>
public sealed record MaintainerInstruction(string Maintainer) : Instruction;
