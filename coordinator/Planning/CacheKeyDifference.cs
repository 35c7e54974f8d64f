namespace BuildFarm.Coordinator.Planning;

/// <summary>One input that differs between two keys, e.g. <c>buildArgs.VERSION</c> from "1" to "2"; null = absent.</summary>
public sealed record CacheKeyDifference(string Input, string? Before, string? After)
{
    public override string ToString() => $"{Input}: {Before ?? "(absent)"} -> {After ?? "(absent)"}";
}
