namespace BuildFarm.Cache;

/// <summary>Cache key → step record, stored beside the blobs in the same store.</summary>
public interface IStepRecordIndex
{
    string Location { get; }

    /// <summary>The record of <paramref name="key"/>, or null on a miss.</summary>
    Task<StepRecord?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Stores (or replaces) a record; concurrent puts of one key are harmless (last writer wins whole).</summary>
    Task PutAsync(StepRecord record, CancellationToken cancellationToken = default);

    /// <summary>Marks the record as used now. Cheap: an empty marker write, skipped when this instance touched the key recently.</summary>
    Task TouchAsync(string key, CancellationToken cancellationToken = default);

    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    IAsyncEnumerable<StepRecordEntry> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Earlier records for the same place in a build: same parent key or same step identity, newest first.
    /// The planner compares their inputs with the missing key's inputs to say which input changed.</summary>
    Task<IReadOnlyList<StepRecord>> FindCandidatesAsync(string? parentKey, string? stepIdentity, int max = 10, CancellationToken cancellationToken = default);
}
