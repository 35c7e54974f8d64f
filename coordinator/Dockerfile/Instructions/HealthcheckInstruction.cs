namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>HEALTHCHECK [--interval] [--timeout] [--start-period] [--start-interval] [--retries] CMD ...</c> or <c>HEALTHCHECK NONE</c>.</summary>
public sealed record HealthcheckInstruction(HealthConfig Health) : Instruction;
