namespace BuildFarm.Coordinator.Planning;

/// <summary>One <c>--ulimit NAME=SOFT[:HARD]</c> (-1 = unlimited).</summary>
public sealed record RunUlimit(string Name, long Soft, long Hard)
{
    public override string ToString() => $"{Name}={Soft}:{Hard}";
}
