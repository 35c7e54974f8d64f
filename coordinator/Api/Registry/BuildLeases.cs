namespace BuildFarm.Coordinator.Api.Registry;

/// <summary>
/// What a running build holds in the shared cache, so a prune leaves it alone: the blobs of its context (uploaded or
/// proved present: the latter may be old and unreferenced) and the cache keys of the steps it has done (their records'
/// layers are its image's layers). Anything stored after it started is kept by the prune's time rule.
/// </summary>
public sealed class BuildLeases
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _digests = new(StringComparer.Ordinal);
    private readonly HashSet<string> _steps = new(StringComparer.Ordinal);

    public void Blobs(IEnumerable<string> digests)
    {
        lock (_gate)
            foreach (var d in digests)
                if (d.Length > 0) _digests.Add(d);
    }

    public void Step(string cacheKey)
    {
        lock (_gate) _steps.Add(cacheKey);
    }

    public IReadOnlyList<string> BlobDigests { get { lock (_gate) return [.. _digests]; } }

    public IReadOnlyList<string> StepKeys { get { lock (_gate) return [.. _steps]; } }
}
