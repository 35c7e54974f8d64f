using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>The step-record index as the engine needs it: cache key → stored result.</summary>
public interface IStepRecordStore
{
    /// <summary>The record for <paramref name="cacheKey"/> when it exists and its layer blob is in the store.</summary>
    Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken);

    /// <param name="stepIdentity">Where in a Dockerfile the step was (for miss explanations); not part of the key.</param>
    Task SaveAsync(StepDefinition definition, string stepIdentity, StepResult result, CancellationToken cancellationToken);

    /// <summary>Why <paramref name="definition"/> missed: its key inputs against the nearest earlier record of the same place
    /// (its own record only when made before <paramref name="dispatchedAt"/>, i.e. by an earlier run whose layer is gone).</summary>
    Task<StepMissExplained> ExplainMissAsync(StepDefinition definition, string stepIdentity, DateTimeOffset dispatchedAt,
        CancellationToken cancellationToken);
}
