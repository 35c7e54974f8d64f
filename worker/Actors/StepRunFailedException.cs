namespace BuildFarm.Worker.Actors;

/// <summary>The step ran and failed (as opposed to the worker failing): reported to the user, never retried.</summary>
public sealed class StepRunFailedException(string message, int exitCode = 0, Exception? inner = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
