using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Builds;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api.Registry;

/// <summary>
/// The builds this coordinator runs and ran recently (the newest <see cref="MaxRecent"/> finished ones, for at most
/// <see cref="Retention"/>). It lives in the API process: a build is watched through the coordinator that took it.
/// A build of another team is NOT_FOUND, exactly as an id that never existed: answering PERMISSION_DENIED would tell a
/// stranger that the id is real (GitHub answers 404 for a private repository for the same reason).
/// </summary>
public sealed class BuildRegistry(TimeProvider time, TimeSpan orphanGrace)
{
    public const int MaxRecent = 200;
    public static readonly TimeSpan Retention = TimeSpan.FromHours(6);

    /// <summary>How long a running build whose every client went away waits for one to re-attach before it is canceled.</summary>
    public static readonly TimeSpan DefaultOrphanGrace = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, BuildRecord> _builds = new(StringComparer.Ordinal);

    public BuildRecord Register(BuildTicket ticket, IReadOnlyList<string> tags) => Register(ticket, tags, limit: null);

    /// <summary>
    /// Registers a build unless its team already has <paramref name="limit"/> builds in flight (receiving their context
    /// or running): then RESOURCE_EXHAUSTED, with a <c>retry-after</c> trailer in seconds (the team's recent build time),
    /// so a CI fan-out backs off instead of piling up. Checked and added under one lock: concurrent calls never overshoot.
    /// </summary>
    public BuildRecord Register(BuildTicket ticket, IReadOnlyList<string> tags, int? limit)
    {
        var record = new BuildRecord(ticket.BuildId, ticket.Team, tags, time.GetUtcNow(), orphanGrace);
        lock (_gate)
        {
            Prune();
            ThrowIfFull(ticket.Team, limit);
            _builds.Add(ticket.BuildId, record);
        }
        return record;
    }

    /// <summary>RESOURCE_EXHAUSTED when <paramref name="team"/> is at its limit already: asked before a build gets an id,
    /// so a refused client is not handed one (<see cref="Register(BuildTicket, IReadOnlyList{string}, int?)"/> checks again).</summary>
    public void EnsureRoom(string team, int? limit)
    {
        lock (_gate) ThrowIfFull(team, limit);
    }

    private void ThrowIfFull(string team, int? limit)
    {
        if (limit is not { } max) return;
        var inFlight = _builds.Values.Count(b => b.Ended is null && string.Equals(b.Team, team, StringComparison.Ordinal));
        if (inFlight < max) return;
        var retry = RetryAfter(team);
        var who = team.Length > 0 ? $"team \"{team}\"" : "builds without a team";
        throw new RpcException(
            new Status(StatusCode.ResourceExhausted, $"{who} has {inFlight} builds queued or running, its limit is {max}; retry after {retry} s"),
            new Metadata { { RetryAfterTrailer, retry.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
    }

    /// <summary>The trailer of a RESOURCE_EXHAUSTED refusal: whole seconds to wait before asking again (as HTTP's Retry-After).</summary>
    public const string RetryAfterTrailer = "retry-after";

    // The mean time of the team's recent builds: about when one of its running builds will free a place. 5 s when unknown.
    private int RetryAfter(string team)
    {
        var recent = _builds.Values.Where(b => b.Ended is not null && string.Equals(b.Team, team, StringComparison.Ordinal))
            .OrderByDescending(b => b.Ended).Take(10).Select(b => (b.Ended!.Value - b.Started).TotalSeconds).ToList();
        return recent.Count == 0 ? 5 : (int)Math.Clamp(Math.Ceiling(recent.Average()), 1, 300);
    }

    /// <summary>The build, when the caller's team may see it; NOT_FOUND otherwise (see the class remarks).</summary>
    public BuildRecord Find(string buildId, Caller caller)
    {
        BuildRecord? record;
        lock (_gate) _builds.TryGetValue(buildId, out record);
        return record is not null && caller.Sees(record.Team)
            ? record
            : throw new RpcException(new Status(StatusCode.NotFound, $"no build {buildId} on this coordinator for team \"{caller.Team}\""));
    }

    /// <summary>Running and recent builds the caller may see, newest first.</summary>
    public IReadOnlyList<BuildRecord> List(Caller caller)
    {
        lock (_gate)
        {
            Prune();
            return [.. _builds.Values.Where(b => caller.Sees(b.Team)).OrderByDescending(b => b.Started)];
        }
    }

    /// <summary>Every build not ended yet, of every team (what a cache prune must leave alone).</summary>
    public IReadOnlyList<BuildRecord> Unfinished()
    {
        lock (_gate) return [.. _builds.Values.Where(b => b.Ended is null)];
    }

    private void Prune()
    {
        var cutoff = time.GetUtcNow() - Retention;
        var finished = _builds.Values.Where(b => b.Ended is not null).OrderByDescending(b => b.Ended).ToList();
        foreach (var old in finished.Skip(MaxRecent).Concat(finished.Where(b => b.Ended < cutoff)))
            _builds.Remove(old.Id);
    }
}
