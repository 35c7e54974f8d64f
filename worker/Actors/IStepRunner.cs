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

    /// <summary>The same, for a worker on another host than the build's ssh agents: <paramref name="ssh"/> reaches them
    /// through the node that holds them (null: the agents, if any, are on this host). A runner that wraps another must
    /// pass it on; one that does not know it drops it.</summary>
    Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        Steps.ISshAgentLink? ssh, IStepOutput output, CancellationToken cancellationToken) =>
        RunAsync(definition, inputs, secrets, output, cancellationToken);

    /// <summary>What this worker holds locally, at most <paramref name="maxLayers"/> layers. Called on every worker status:
    /// it must answer from memory (a running total, or the result of a periodic scan), never scan the disk itself.</summary>
    LocalCacheUsage LocalCache(int maxLayers) => LocalCacheUsage.None;
}
