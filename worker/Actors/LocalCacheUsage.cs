namespace BuildFarm.Worker.Actors;

/// <summary>What a worker holds locally: bytes of its blob cache and extracted snapshots, and the diff ids of the
/// layers it holds extracted (most recently used first) — what a pool needs to prefer it for a step on top of them.</summary>
public sealed record LocalCacheUsage(long Bytes, IReadOnlyList<string> Layers)
{
    public static LocalCacheUsage None { get; } = new(0, []);
}
