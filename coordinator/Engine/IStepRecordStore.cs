using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>The step-record index as the engine needs it: cache key → stored result.</summary>
public interface IStepRecordStore
{
    /// <summary>The record for <paramref name="cacheKey"/> when it exists and its layer blob is in the store.</summary>
    Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken);

    Task SaveAsync(StepSpec spec, StepResult result, CancellationToken cancellationToken);

    /// <summary>Why <paramref name="spec"/> missed: its key inputs against the nearest earlier record of the same place
    /// (its own record only when made before <paramref name="dispatchedAt"/>, i.e. by an earlier run whose layer is gone).</summary>
    Task<StepMissExplained> ExplainMissAsync(StepSpec spec, DateTimeOffset dispatchedAt, CancellationToken cancellationToken);
}
