using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Worker.Actors;

/// <summary>The step ran and failed (as opposed to the worker failing): a user error, reported, never retried.</summary>
public sealed class StepRunFailedException(string message, int exitCode = 0, Exception? inner = null)
    : ClassifiedException(ErrorClass.UserError, message, inner)
{
    public int ExitCode { get; } = exitCode;
}
