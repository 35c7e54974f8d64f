using BuildFarm.Protos.Cluster;

namespace BuildFarm.Worker.Actors;

/// <summary>What the worker actor needs from the worker's execution facade: run one step, stream its output.</summary>
public interface IStepRunner
{
    /// <summary>Executes <paramref name="spec"/>, uploads its layer and returns the result.
    /// Throws <see cref="StepRunFailedException"/> when the step itself fails (non-zero exit, missing file).</summary>
    Task<StepResult> RunAsync(StepSpec spec, IStepOutput output, CancellationToken cancellationToken);
}
