using BuildFarm.Protos.Cluster;

namespace BuildFarm.Worker.Actors;

/// <summary>What the worker actor needs from the worker's execution facade: run one step, stream its output.</summary>
public interface IStepRunner
{
    /// <summary>Executes <paramref name="definition"/> with one build's <paramref name="inputs"/>, uploads its layer and
    /// returns the result. Throws <see cref="StepRunFailedException"/> when the step itself fails (non-zero exit, missing file).</summary>
    /// <param name="secrets">The values of the inputs' secret references, for this run only.</param>
    Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        IStepOutput output, CancellationToken cancellationToken);

    /// <summary>What this worker holds locally, at most <paramref name="maxLayers"/> layers. Called on every worker status:
    /// it must answer from memory (a running total, or the result of a periodic scan), never scan the disk itself.</summary>
    LocalCacheUsage LocalCache(int maxLayers) => LocalCacheUsage.None;
}
