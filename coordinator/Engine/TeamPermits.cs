using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The cluster singleton (on the oldest coordinator) that makes <see cref="TeamQuotas"/> cluster-wide: it grants each
/// team at most its limit of step permits across all worker pools, and queues further asks first come, first served.
/// A permit belongs to the pool that asked (its actor ref carries the pool's address): the singleton death-watches every
/// pool, so a coordinator that dies or leaves frees its permits once the cluster removes it. A new singleton (failover,
/// hand-over) knows nothing: it asks every coordinator's pool what it holds and waits for, and takes that as its state
/// (held permits are adopted even beyond the limit: those steps run already).
/// </summary>
public sealed class TeamPermits : ReceiveActor, IWithTimers
{
    private sealed record Holder(IActorRef Pool, string Key);

    private sealed class TeamState
    {
        public HashSet<Holder> Held { get; } = [];
        public LinkedList<Holder> Waiting { get; } = new();
    }

    private readonly TeamQuotas _quotas;
    private readonly Dictionary<string, TeamState> _teams = new(StringComparer.Ordinal);
    private readonly HashSet<IActorRef> _watched = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    /// <summary>Coordinators asked on start that have not said what they hold: until they have (or
    /// <see cref="RecoveryTimeout"/> passed) nothing is granted, or asks buffered during the failover would be granted
    /// ahead of permits a pool still holds.</summary>
    private readonly HashSet<Address> _unanswered = [];
    public ITimerScheduler Timers { get; set; } = null!;
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(3);

    private sealed record RecoveryOver : INoSerializationVerificationNeeded;

    public TeamPermits(TeamQuotas quotas)
    {
        _quotas = quotas;

        Receive<StepPermitAsked>(a =>
        {
            var (team, holder) = (a.Permit.Team, new Holder(Sender, a.Permit.CacheKey));
            var state = Team(team);
            Watch(Sender);
            if (state.Held.Contains(holder)) Sender.Tell(new StepPermitGranted { Permit = a.Permit });
            else if (!state.Waiting.Contains(holder)) state.Waiting.AddLast(holder);
            GrantWaiting(team);
        });

        Receive<StepPermitReturned>(r =>
        {
            var holder = new Holder(Sender, r.Permit.CacheKey);
            if (!_teams.TryGetValue(r.Permit.Team, out var state)) return;
            if (!state.Held.Remove(holder)) state.Waiting.Remove(holder);
            GrantWaiting(r.Permit.Team);
        });

        Receive<RecoveryOver>(_ =>
        {
            if (_unanswered.Count > 0) _log.Warning("{0} coordinators did not say what permits they hold: granting anyway", _unanswered.Count);
            _unanswered.Clear();
            foreach (var team in _teams.Keys.ToList()) GrantWaiting(team);
        });

        Receive<StepPermitsHeld>(h =>
        {
            Watch(Sender);
            // The pool on this node has a local address: the member's is the cluster's self address.
            var from = Sender.Path.Address.HasLocalScope ? Cluster.Get(Context.System).SelfAddress : Sender.Path.Address;
            if (_unanswered.Remove(from) && _unanswered.Count == 0)
                foreach (var team in _teams.Keys.ToList()) GrantWaiting(team);
            foreach (var permit in h.Held)
            {
                var state = Team(permit.Team);
                var holder = new Holder(Sender, permit.CacheKey);
                state.Waiting.Remove(holder);
                state.Held.Add(holder);
            }
            foreach (var permit in h.Asked)
            {
                var state = Team(permit.Team);
                var holder = new Holder(Sender, permit.CacheKey);
                if (!state.Held.Contains(holder) && !state.Waiting.Contains(holder)) state.Waiting.AddLast(holder);
            }
            foreach (var team in h.Held.Concat(h.Asked).Select(p => p.Team).Distinct(StringComparer.Ordinal)) GrantWaiting(team);
        });

        // The pool's node left or died (removed from the cluster): what it held and asked for is free again.
        Receive<Terminated>(t =>
        {
            _watched.Remove(t.ActorRef);
            foreach (var (team, state) in _teams)
            {
                var freed = state.Held.RemoveWhere(h => h.Pool.Equals(t.ActorRef));
                for (var node = state.Waiting.First; node is not null;)
                {
                    var next = node.Next;
                    if (node.Value.Pool.Equals(t.ActorRef)) state.Waiting.Remove(node);
                    node = next;
                }
                if (freed > 0) _log.Info("pool {0} left holding {1} permits of team {2}: freed", t.ActorRef.Path, freed, team);
                GrantWaiting(team);
            }
        });
    }

    private TeamState Team(string team)
    {
        if (!_teams.TryGetValue(team, out var state)) _teams[team] = state = new TeamState();
        return state;
    }

    private void Watch(IActorRef pool)
    {
        if (_watched.Add(pool)) Context.Watch(pool);
    }

    private void GrantWaiting(string team)
    {
        if (_unanswered.Count > 0) return;
        var state = Team(team);
        var limit = _quotas.LimitOf(team);
        while (state.Waiting.First is { } first && (limit is not { } l || state.Held.Count < l))
        {
            state.Waiting.RemoveFirst();
            state.Held.Add(first.Value);
            first.Value.Pool.Tell(new StepPermitGranted { Permit = new StepPermit { Team = team, CacheKey = first.Value.Key } });
        }
    }

    // A fresh singleton: every coordinator's pool says what it holds (the previous singleton's state died with it).
    // A leaving (exiting) coordinator is asked too: its steps may still run, and its permits are freed when it is removed.
    protected override void PreStart()
    {
        foreach (var member in Cluster.Get(Context.System).State.Members)
        {
            if (!member.HasRole(EngineRoles.Coordinator) || member.Status is MemberStatus.Down or MemberStatus.Removed) continue;
            Context.ActorSelection(new RootActorPath(member.Address) / "user" / ActorNames.WorkerPool).Tell(new StepPermitsWanted());
            _unanswered.Add(member.Address);
        }
        if (_unanswered.Count > 0) Timers.StartSingleTimer("recovery", new RecoveryOver(), RecoveryTimeout);
    }

    public static Props Props(TeamQuotas quotas) => Akka.Actor.Props.Create(() => new TeamPermits(quotas));
}
