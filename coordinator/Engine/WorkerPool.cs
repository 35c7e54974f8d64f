using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The workers this coordinator node knows, as their own statuses describe them, and the bounded queue of steps waiting
/// for one. The pool only estimates free slots: each worker is the authority on its own and refuses an
/// <see cref="ExecuteStep"/> it has no slot for (another coordinator's pool may have filled it); the pool then puts the
/// step back at the front and sends that worker nothing until its next status.
/// A worker that dies is forgotten and each step entity whose step it held hears of it (an UNAVAILABLE failure of
/// that attempt): the entity, not the pool, decides whether to dispatch again.
/// Fairness: the next step to place is the oldest queued step of the team with the fewest steps running through this
/// pool, among teams below their <see cref="TeamQuotas"/> limit; a team at its limit waits while others go ahead.
/// A step several builds wait on arrives here once (its entity dedupes), so it counts once, for the team whose inputs
/// its run uses. With a <c>permits</c> actor (the <see cref="TeamPermits"/> singleton's proxy) a step of a team with a
/// quota also needs a cluster-wide permit before it is placed: the pool asks for at most the team's limit at a time,
/// holds each grant until the step leaves it, and returns it then; so across N coordinators the team still runs no
/// more than its quota. Teams without a quota never ask. Without <c>permits</c> the limit is per pool.
/// </summary>
public sealed class WorkerPool : ReceiveActor
{
    private sealed record Pending(DispatchStep Dispatch, IActorRef ReplyTo, long QueuedAt)
    {
        public string CacheKey => Dispatch.Definition.CacheKey;
        public string Team => Dispatch.Inputs?.Team ?? "";
    }

    private sealed class WorkerState(IActorRef actor, string id, int slots)
    {
        public IActorRef Actor { get; } = actor;
        public string Id { get; } = id;
        public int Pid { get; set; }
        public string Address { get; set; } = "";
        public int Slots { get; set; } = slots;
        /// <summary>What this pool sent it and has not heard freed (the entity to tell if the worker dies).</summary>
        public Dictionary<string, Pending> Running { get; } = [];
        /// <summary>What the worker last said it runs, whichever pool sent it.</summary>
        public HashSet<string> Reported { get; set; } = [];
        public HashSet<string> Layers { get; set; } = [];
        public long StepsExecuted { get; set; }
        public long LocalCacheBytes { get; set; }
        public bool Draining { get; set; }
        /// <summary>What its RUN steps can execute, as it advertised (native or emulated).</summary>
        public IReadOnlyList<WorkerPlatform> Platforms { get; set; } = [];
        /// <summary>It refused a step for want of a slot: nothing more goes to it until its next status.</summary>
        public bool Full { get; set; }
        public int Busy => Reported.Count + Running.Keys.Count(k => !Reported.Contains(k));
        public bool Runs(string key) => Running.ContainsKey(key) || Reported.Contains(key);
    }

    private sealed record CheckStarved : INoSerializationVerificationNeeded;

    private readonly int _maxQueued;
    private readonly TimeSpan _noWorkerTimeout;
    // Since when this pool has known no worker at all (from its start, or since the last one left).
    private DateTime? _noWorkerSince = DateTime.UtcNow;
    private ICancelable? _starvedCheck;
    private readonly TeamQuotas _quotas;
    private readonly FarmMetrics? _metrics;
    private readonly Dictionary<IActorRef, WorkerState> _workers = [];
    private readonly LinkedList<Pending> _queue = new();
    /// <summary>When each team last had a step placed (a sequence number): equal teams take turns.</summary>
    private readonly Dictionary<string, long> _lastServed = new(StringComparer.Ordinal);
    private long _served;
    /// <summary>The cluster-wide permits singleton (its proxy); null: quotas are per pool only.</summary>
    private readonly IActorRef? _permits;
    /// <summary>Cache key → team: permits this pool holds (queued or running steps) and asks not yet answered.</summary>
    private readonly Dictionary<string, string> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _asked = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerPool(int maxQueued, TeamQuotas quotas, FarmMetrics? metrics, TimeSpan noWorkerTimeout, IActorRef? permits)
    {
        _maxQueued = maxQueued;
        _permits = permits;
        _quotas = quotas;
        _metrics = metrics;
        _noWorkerTimeout = noWorkerTimeout;

        // A farm with no worker must not hold builds for ever: past the timeout, queued steps fail with a clear line.
        Receive<CheckStarved>(_ =>
        {
            if (_workers.Count > 0 || _noWorkerSince is not { } since || DateTime.UtcNow - since < _noWorkerTimeout) return;
            while (_queue.First is { } starved)
            {
                _queue.RemoveFirst();
                starved.Value.ReplyTo.Tell(new StepFailed
                {
                    CacheKey = starved.Value.CacheKey,
                    Message = $"no worker is in the farm: the step waited {_noWorkerTimeout.TotalSeconds:0} s for one (is a `buildfarm worker` running and joined?)",
                    ErrorClass = ErrorClass.Unavailable,
                    RetriesExhausted = true,
                    Attempt = starved.Value.Dispatch.Attempt,
                });
                ReturnPermitIfGone(starved.Value.CacheKey);
            }
        });

        Receive<StepPermitGranted>(g =>
        {
            var key = g.Permit.CacheKey;
            if (_asked.Remove(key)) _held[key] = g.Permit.Team;
            // A late grant (the step left meanwhile, or an old singleton answered): give it back at once.
            else if (!_held.ContainsKey(key)) _permits?.Tell(new StepPermitReturned { Permit = g.Permit });
            TryDispatch();
        });

        // A new permits singleton knows nothing: tell it what this pool holds and still waits for.
        Receive<StepPermitsWanted>(_ =>
        {
            var held = new StepPermitsHeld();
            held.Held.AddRange(_held.Select(p => new StepPermit { CacheKey = p.Key, Team = p.Value }));
            held.Asked.AddRange(_asked.Select(p => new StepPermit { CacheKey = p.Key, Team = p.Value }));
            Sender.Tell(held);
        });

        Receive<RegisterWorker>(r =>
        {
            var worker = Known(Sender, r.WorkerId, r.Slots);
            worker.Slots = Math.Max(1, r.Slots);
            worker.Pid = r.Pid;
            worker.Address = r.Address;
            worker.Platforms = [.. r.Platforms];
            Sender.Tell(new WorkerRegistered { WorkerId = r.WorkerId });
            TryDispatch();
        });

        // A status from a worker this pool does not know (the pool restarted) registers it again.
        Receive<WorkerStatus>(s =>
        {
            var fresh = !_workers.ContainsKey(Sender);
            var worker = Known(Sender, s.WorkerId, s.Slots);
            if (fresh) Sender.Tell(new WorkerRegistered { WorkerId = s.WorkerId });
            worker.Slots = Math.Max(1, s.Slots);
            worker.Pid = s.Pid;
            worker.Address = s.Address;
            worker.Reported = [.. s.RunningKeys];
            worker.Layers = [.. s.Layers];
            worker.StepsExecuted = s.StepsExecuted;
            worker.LocalCacheBytes = s.LocalCacheBytes;
            worker.Draining = s.Draining;
            worker.Platforms = [.. s.Platforms];
            worker.Full = false;
            TryDispatch();
        });

        Receive<ExecutionRejected>(r =>
        {
            if (!_workers.TryGetValue(Sender, out var worker)) return;
            worker.Full = true;
            if (worker.Running.TryGetValue(r.CacheKey, out var pending) && pending.Dispatch.Attempt == r.Attempt)
            {
                worker.Running.Remove(r.CacheKey);
                // Back at the front: it waited longest. A newer attempt already queued replaces it.
                if (!_queue.Any(p => p.CacheKey == r.CacheKey)) _queue.AddFirst(pending);
            }
            _log.Debug("worker {0} refused step {1}: {2}", worker.Id, r.CacheKey, r.Reason);
            TryDispatch();
        });

        Receive<DispatchStep>(d =>
        {
            if (_queue.Count >= _maxQueued)
            {
                Sender.Tell(new DispatchRejected
                {
                    CacheKey = d.Definition.CacheKey,
                    Reason = $"RESOURCE_EXHAUSTED: {_queue.Count} steps already wait for a worker",
                    Attempt = d.Attempt,
                });
                return;
            }
            // A newer attempt of a queued step replaces the older one.
            for (var node = _queue.First; node is not null; node = node.Next)
            {
                if (node.Value.CacheKey != d.Definition.CacheKey) continue;
                _queue.Remove(node);
                break;
            }
            _queue.AddLast(new Pending(d, Sender, Stopwatch.GetTimestamp()));
            TryDispatch();
        });

        Receive<ListWorkersQuery>(_ =>
        {
            var list = new WorkerList();
            list.Workers.AddRange(_workers.Values.OrderBy(w => w.Id, StringComparer.Ordinal).Select(w => new WorkerSummary
            {
                WorkerId = w.Id, Pid = w.Pid, Address = w.Address, Slots = w.Slots, Running = w.Busy,
                StepsExecuted = w.StepsExecuted, LocalCacheBytes = w.LocalCacheBytes, Platforms = { w.Platforms },
            }));
            Sender.Tell(list);
        });

        Receive<WorkerSlotFreed>(f =>
        {
            if (_workers.TryGetValue(Sender, out var worker))
            {
                worker.Running.Remove(f.CacheKey);
                worker.Reported.Remove(f.CacheKey);
            }
            ReturnPermitIfGone(f.CacheKey);
            TryDispatch();
        });

        Receive<CancelExecution>(c =>
        {
            for (var node = _queue.First; node is not null; node = node.Next)
            {
                if (node.Value.CacheKey != c.CacheKey) continue;
                _queue.Remove(node);
                node.Value.ReplyTo.Tell(new StepFailed
                {
                    CacheKey = c.CacheKey, Message = "canceled", ErrorClass = ErrorClass.Canceled, Attempt = node.Value.Dispatch.Attempt,
                });
                ReturnPermitIfGone(c.CacheKey);
                TryDispatch();
                return;
            }
            foreach (var worker in _workers.Values.Where(w => w.Running.ContainsKey(c.CacheKey)))
                worker.Actor.Tell(c);
        });

        Receive<Terminated>(t =>
        {
            if (!_workers.Remove(t.ActorRef, out var gone)) return;
            if (_workers.Count == 0) _noWorkerSince = DateTime.UtcNow;
            _log.Warning("worker {0} left with {1} running steps", gone.Id, gone.Running.Count);
            foreach (var pending in gone.Running.Values)
                pending.ReplyTo.Tell(new StepFailed
                {
                    CacheKey = pending.CacheKey,
                    Message = $"worker {gone.Id} left the cluster while it held the step",
                    ErrorClass = ErrorClass.Unavailable,
                    Attempt = pending.Dispatch.Attempt,
                });
            foreach (var key in gone.Running.Keys) ReturnPermitIfGone(key);
            TryDispatch();
        });
    }

    private WorkerState Known(IActorRef actor, string id, int slots)
    {
        if (_workers.TryGetValue(actor, out var known)) return known;
        var worker = new WorkerState(actor, id, Math.Max(1, slots));
        _workers[actor] = worker;
        _noWorkerSince = null;
        Context.Watch(actor);
        _log.Info("worker {0} registered with {1} slots", id, slots);
        return worker;
    }

    private void TryDispatch()
    {
        AskPermits();
        while (NextFair() is { } next)
        {
            var pending = next.Value;
            var dispatch = pending.Dispatch;
            if (NoWorkerRuns(dispatch) is { } reason)
            {
                // Waiting would not help: no worker in the farm runs this platform (a new one joining is not likely soon).
                _queue.Remove(next);
                pending.ReplyTo.Tell(new StepFailed
                {
                    CacheKey = pending.CacheKey, Message = reason, ErrorClass = ErrorClass.Unavailable, RetriesExhausted = true,
                    Attempt = dispatch.Attempt,
                });
                ReturnPermitIfGone(pending.CacheKey);
                continue;
            }
            var worker = RunningElsewhere(pending.CacheKey, dispatch.AvoidWorkers) ?? Choose(dispatch);
            if (worker is null) break;
            _queue.Remove(next);
            worker.Running[pending.CacheKey] = pending;
            if (NeedsPermit(pending.Team) && !_held.ContainsKey(pending.CacheKey)) AdoptPermit(pending);
            _lastServed[pending.Team] = ++_served;
            _metrics?.RecordQueueWait(pending.Team, Stopwatch.GetElapsedTime(pending.QueuedAt));
            worker.Actor.Tell(new ExecuteStep
            {
                Definition = dispatch.Definition,
                Inputs = dispatch.Inputs,
                Attempt = dispatch.Attempt,
                ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(pending.ReplyTo),
                // Wall clock for the trace (the monotonic stamp means nothing on another node).
                QueuedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)Stopwatch.GetElapsedTime(pending.QueuedAt).TotalMilliseconds,
            }, Self);
        }
        Publish();
    }

    /// <summary>The oldest queued step of the team with the fewest steps running here, among teams below their quota
    /// (ties: the team served least recently, so equal teams take turns); null when every team with queued steps is at
    /// its quota.</summary>
    private LinkedListNode<Pending>? NextFair()
    {
        if (_queue.First is null) return null;
        var running = RunningPerTeam();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        LinkedListNode<Pending>? best = null;
        var bestRunning = 0;
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            var team = node.Value.Team;
            if (seen.Contains(team)) continue;
            // Under cluster-wide quotas a team's next step is its oldest one holding a permit.
            // (A step some worker already runs needs none to attach: it runs either way, see AdoptPermit.)
            if (NeedsPermit(team) && !_held.ContainsKey(node.Value.CacheKey)
                && RunningElsewhere(node.Value.CacheKey, node.Value.Dispatch.AvoidWorkers) is null) continue;
            seen.Add(team);
            var count = running.GetValueOrDefault(team);
            if (_quotas.LimitOf(team) is { } limit && count >= limit) continue;
            if (best is null || count < bestRunning
                || count == bestRunning && LastServed(team) < LastServed(best.Value.Team))
                (best, bestRunning) = (node, count);
        }
        return best;
    }

    private bool NeedsPermit(string team) => _permits is not null && _quotas.LimitOf(team) is not null;

    /// <summary>Asks the singleton for permits of queued steps, oldest first, so that no team has more than its limit
    /// held or asked by this pool at once (the singleton bounds the sum over all pools).</summary>
    private void AskPermits()
    {
        if (_permits is null) return;
        var outstanding = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var team in _held.Values.Concat(_asked.Values)) outstanding[team] = outstanding.GetValueOrDefault(team) + 1;
        foreach (var pending in _queue)
        {
            if (_quotas.LimitOf(pending.Team) is not { } limit) continue;
            if (_held.ContainsKey(pending.CacheKey) || _asked.ContainsKey(pending.CacheKey)) continue;
            if (outstanding.GetValueOrDefault(pending.Team) >= limit) continue;
            outstanding[pending.Team] = outstanding.GetValueOrDefault(pending.Team) + 1;
            _asked[pending.CacheKey] = pending.Team;
            _permits.Tell(new StepPermitAsked { Permit = new StepPermit { Team = pending.Team, CacheKey = pending.CacheKey } });
        }
    }

    /// <summary>Attaching to a run a worker already executes (its entity moved here from a coordinator that left or died,
    /// whose pool held the permit): the run counts against the quota from now on, granted or not, so that the permit
    /// freed when that coordinator is removed is not handed to a new step while this one still runs.</summary>
    private void AdoptPermit(Pending pending)
    {
        _asked.Remove(pending.CacheKey);
        _held[pending.CacheKey] = pending.Team;
        _permits?.Tell(new StepPermitsHeld { Held = { new StepPermit { Team = pending.Team, CacheKey = pending.CacheKey } } });
    }

    /// <summary>Once a step is neither queued nor running through this pool, its permit (or its ask) goes back.</summary>
    private void ReturnPermitIfGone(string key)
    {
        if (_permits is null || _queue.Any(p => p.CacheKey == key) || _workers.Values.Any(w => w.Running.ContainsKey(key))) return;
        if (!_held.Remove(key, out var team) && !_asked.Remove(key, out team)) return;
        _permits.Tell(new StepPermitReturned { Permit = new StepPermit { Team = team, CacheKey = key } });
    }

    private long LastServed(string team) => _lastServed.GetValueOrDefault(team, -1);

    private Dictionary<string, int> RunningPerTeam()
    {
        var running = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var worker in _workers.Values)
        foreach (var pending in worker.Running.Values)
            running[pending.Team] = running.GetValueOrDefault(pending.Team) + 1;
        return running;
    }

    /// <summary>Hands the metrics a fresh snapshot (they are read on scrape, from another thread).</summary>
    private void Publish()
    {
        if (_metrics is null) return;
        var queued = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pending in _queue) queued[pending.Team] = queued.GetValueOrDefault(pending.Team) + 1;
        _metrics.PublishPool(new PoolSnapshot(RunningPerTeam(), queued,
            [.. _workers.Values.Select(w => new WorkerSlots(w.Id, w.Slots, Math.Min(w.Slots, w.Busy)))]));
    }

    /// <summary>A worker already executing the key (sent by any pool) attaches the dispatch to that execution instead of a
    /// second run — unless the entity named it as the worker the step was lost on.</summary>
    private WorkerState? RunningElsewhere(string key, IReadOnlyCollection<string> avoid) =>
        _workers.Values.FirstOrDefault(w => w.Runs(key) && !avoid.Contains(w.Id));

    /// <summary>Why no worker this pool knows can run the step's platform; null when one can (or none is known yet: the
    /// no-worker timeout speaks then).</summary>
    private string? NoWorkerRuns(DispatchStep dispatch)
    {
        var wanted = WorkerPlatformMatch.Required(dispatch.Definition);
        var live = _workers.Values.Where(w => !w.Draining).ToList();
        if (wanted.Length == 0 || live.Count == 0 || live.Any(w => WorkerPlatformMatch.Fit(w.Platforms, wanted) != PlatformFit.None)) return null;
        var offered = string.Join("; ", live.OrderBy(w => w.Id, StringComparer.Ordinal).Select(w => $"{w.Id}: {WorkerPlatformMatch.Describe(w.Platforms)}"));
        return $"no worker can run {wanted} steps (workers offer {offered}); install qemu-user-static on a worker "
               + "(scripts/install-deps.sh) and restart it so it registers the QEMU binfmt_misc handlers, or add a native worker";
    }

    private WorkerState? Choose(DispatchStep dispatch)
    {
        var open = _workers.Values.Where(w => !w.Draining && !w.Full).ToList();
        var wanted = WorkerPlatformMatch.Required(dispatch.Definition);
        var index = WorkerChoice.Pick([.. open.Select(w => new WorkerCandidate(w.Id, w.Slots, w.Busy, w.Layers, WorkerPlatformMatch.Fit(w.Platforms, wanted)))],
            dispatch.Inputs, dispatch.AvoidWorkers);
        return index < 0 ? null : open[index];
    }

    protected override void PreStart()
    {
        var every = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _noWorkerTimeout.Ticks / 10));
        _starvedCheck = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(every, every, Self, new CheckStarved(), Self);
    }

    protected override void PostStop() => _starvedCheck?.Cancel();

    /// <param name="permits">The <see cref="TeamPermits"/> singleton's proxy: quotas hold across the cluster; null: per pool.</param>
    public static Props Props(int maxQueued, TeamQuotas? quotas = null, FarmMetrics? metrics = null, TimeSpan? noWorkerTimeout = null,
        IActorRef? permits = null) =>
        Akka.Actor.Props.Create(() => new WorkerPool(maxQueued, quotas ?? TeamQuotas.Unlimited, metrics,
            noWorkerTimeout ?? EngineTimings.Default.NoWorkerTimeout, permits));
}
