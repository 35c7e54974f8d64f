using Akka.Actor;
using Akka.Event;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The workers this coordinator node knows, with their free slots; queues steps until a slot frees.
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
        public int Pid { get; set; }
        public string Address { get; set; } = "";
        public IActorRef Actor { get; } = actor;
        public string Id { get; } = id;
        public int Slots { get; set; } = slots;
        public Dictionary<string, Pending> Running { get; } = [];
        public int Free => Slots - Running.Count;
    }

    private readonly int _maxQueued;
    private readonly Dictionary<IActorRef, WorkerState> _workers = [];
    private readonly LinkedList<Pending> _queue = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerPool(int maxQueued)
    {
        _maxQueued = maxQueued;

        Receive<RegisterWorker>(r =>
        {
            if (_workers.TryGetValue(Sender, out var known))
                known.Slots = r.Slots;
            else
            {
                _workers[Sender] = new WorkerState(Sender, r.WorkerId, Math.Max(1, r.Slots)) { Pid = r.Pid, Address = r.Address };
                Context.Watch(Sender);
                _log.Info("worker {0} registered with {1} slots", r.WorkerId, r.Slots);
            }
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
                WorkerId = w.Id, Pid = w.Pid, Address = w.Address, Slots = w.Slots, Running = w.Running.Count,
            }));
            Sender.Tell(list);
        });

        Receive<WorkerSlotFreed>(f =>
        {
            if (_workers.TryGetValue(Sender, out var worker))
                worker.Running.Remove(f.CacheKey);
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

    private void TryDispatch()
    {
        while (_queue.First is { } next)
        {
            // A worker with a free slot is required; one the step was lost on comes last; then the least loaded.
            var avoid = next.Value.Dispatch.AvoidWorkers;
            var worker = _workers.Values.Where(w => w.Free > 0)
                .OrderBy(w => avoid.Contains(w.Id))
                .ThenByDescending(w => (double)w.Free / w.Slots).FirstOrDefault();
            if (worker is null) return;
            _queue.RemoveFirst();
            var dispatch = next.Value.Dispatch;
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

    public static Props Props(int maxQueued) => Akka.Actor.Props.Create(() => new WorkerPool(maxQueued));
}
