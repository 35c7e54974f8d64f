namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// How many steps each team may have running at once in the whole cluster (pools ask <see cref="TeamPermits"/>). Teams not listed get
/// <see cref="Default"/>; the empty team (local builds, no identity) is unlimited unless listed by name "".
/// Null means unlimited.
/// </summary>
public sealed record TeamQuotas
{
    public static TeamQuotas Unlimited { get; } = new();

    public IReadOnlyDictionary<string, int> Limits { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>The limit of a named team that is not in <see cref="Limits"/>; null: unlimited.</summary>
    public int? Default { get; init; }

    /// <summary>The most steps <paramref name="team"/> may run at once; null: unlimited.</summary>
    public int? LimitOf(string team)
    {
        if (Limits.TryGetValue(team, out var limit)) return limit;
        return team.Length == 0 ? null : Default;
    }
}
