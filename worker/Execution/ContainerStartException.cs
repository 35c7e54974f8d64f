namespace BuildFarm.Worker.Execution;

/// <summary>runc could not start the step's process (missing binary, bad working directory, mount failure...):
/// an infrastructure or definition error, not an exit code of the command.</summary>
public sealed class ContainerStartException(string message) : Exception(message);
