namespace BuildFarm.Coordinator.Api.Identity;

/// <summary>Who is calling: the team a bearer token maps to, and whether that token is an admin's. On an open server
/// (no tokens file) every caller is <see cref="Open"/>: one anonymous team that sees everything, as a local daemon.</summary>
public sealed record Caller(string Team, bool IsAdmin)
{
    public static Caller Open { get; } = new("", IsAdmin: true);

    /// <summary>True when this caller may see (Watch, Cancel, list) a build of <paramref name="team"/>.</summary>
    public bool Sees(string team) => IsAdmin || string.Equals(Team, team, StringComparison.Ordinal);
}
