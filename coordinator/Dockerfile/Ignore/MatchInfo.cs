
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>Per-pattern results for a directory, handed to its children so they need not re-test the parents.</summary>
public readonly struct MatchInfo
{
    internal MatchInfo(bool[] parentMatched) => ParentMatched = parentMatched;

    internal bool[]? ParentMatched { get; }

    /// <summary>No information about the parent (the matcher then tests the parent directories itself).</summary>
    public static MatchInfo Empty => default;
}
