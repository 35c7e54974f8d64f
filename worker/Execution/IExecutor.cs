namespace BuildFarm.Worker.Execution;

/// <summary>Runs one process in a container and reports its output line by line.</summary>
public interface IExecutor
{
    /// <summary>Returns the exit code. Cancelling kills the container and returns only once it is gone.</summary>
    Task<int> RunAsync(ContainerSpec spec, IProgress<OutputLine>? output, CancellationToken cancellationToken);
}
