namespace BuildFarm.Worker.Context;

/// <summary>Where a worker keeps materialized contexts and how much of them it keeps.</summary>
/// <param name="Root">A folder of this worker (on the same filesystem throughout: trees are renamed into place).</param>
/// <param name="CapacityBytes">Least recently used contexts not in use are removed beyond this many file bytes.</param>
public sealed record ContextMaterializerOptions(string Root, long CapacityBytes)
{
    /// <summary>How many blobs one materialization fetches at once.</summary>
    public int Parallelism { get; init; } = 16;
}
