using Akka.Actor;
using Akka.Event;
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
/// </summary>
public sealed class WorkerPool : ReceiveActor
{
    private sealed record Pending(DispatchStep Dispatch, IActorRef ReplyTo)
    {
        public string CacheKey => Dispatch.Definition.CacheKey;
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
    private readonly Dictionary<IActorRef, WorkerState> _workers = [];
    private readonly LinkedList<Pending> _queue = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerPool(int maxQueued, TimeSpan noWorkerTimeout)
    {
        _maxQueued = maxQueued;
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
            }
        });

        Receive<RegisterWorker>(r =>
        {
            var worker = Known(Sender, r.WorkerId, r.Slots);
            worker.Slots = Math.Max(1, r.Slots);
            worker.Pid = r.Pid;
            worker.Address = r.Address;
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
            _queue.AddLast(new Pending(d, Sender));
            TryDispatch();
        });

        Receive<ListWorkersQuery>(_ =>
        {
            var list = new WorkerList();
            list.Workers.AddRange(_workers.Values.OrderBy(w => w.Id, StringComparer.Ordinal).Select(w => new WorkerSummary
            {
                WorkerId = w.Id, Pid = w.Pid, Address = w.Address, Slots = w.Slots, Running = w.Busy,
                StepsExecuted = w.StepsExecuted, LocalCacheBytes = w.LocalCacheBytes,
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
        while (_queue.First is { } next)
        {
            var dispatch = next.Value.Dispatch;
            var worker = RunningElsewhere(next.Value.CacheKey, dispatch.AvoidWorkers) ?? Choose(dispatch);
            if (worker is null) return;
            _queue.RemoveFirst();
            worker.Running[next.Value.CacheKey] = next.Value;
            worker.Actor.Tell(new ExecuteStep
            {
                Definition = dispatch.Definition,
                Inputs = dispatch.Inputs,
                Attempt = dispatch.Attempt,
                ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(next.Value.ReplyTo),
            }, Self);
        }
    }

    /// <summary>A worker already executing the key (sent by any pool) attaches the dispatch to that execution instead of a
    /// second run — unless the entity named it as the worker the step was lost on.</summary>
    private WorkerState? RunningElsewhere(string key, IReadOnlyCollection<string> avoid) =>
        _workers.Values.FirstOrDefault(w => w.Runs(key) && !avoid.Contains(w.Id));

    private WorkerState? Choose(DispatchStep dispatch)
    {
        var open = _workers.Values.Where(w => !w.Draining && !w.Full).ToList();
        var index = WorkerChoice.Pick([.. open.Select(w => new WorkerCandidate(w.Id, w.Slots, w.Busy, w.Layers))],
            dispatch.Inputs, dispatch.AvoidWorkers);
        return index < 0 ? null : open[index];
    }

    protected override void PreStart()
    {
        var every = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _noWorkerTimeout.Ticks / 10));
        _starvedCheck = Context.System.Scheduler.ScheduleTellRepeatedlyCancelable(every, every, Self, new CheckStarved(), Self);
    }

    protected override void PostStop() => _starvedCheck?.Cancel();

    public static Props Props(int maxQueued, TimeSpan? noWorkerTimeout = null) =>
        Akka.Actor.Props.Create(() => new WorkerPool(maxQueued, noWorkerTimeout ?? EngineTimings.Default.NoWorkerTimeout));
}
