
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>A bracket expression: inclusive rune ranges, possibly negated.</summary>
internal sealed class CharClass(bool negated, IReadOnlyList<(int Lo, int Hi)> ranges)
{
    public bool Negated { get; } = negated;
    public IReadOnlyList<(int Lo, int Hi)> Ranges { get; } = ranges;

    public bool Contains(int rune)
    {
        var inside = false;
        foreach (var (lo, hi) in Ranges)
        {
            if (lo <= rune && rune <= hi)
            {
                inside = true;
                break;
            }
        }
        return inside != Negated;
    }
}
