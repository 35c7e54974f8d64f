using Akka.Actor;
using Akka.Event;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The workers this coordinator node knows, with their free slots; queues steps until a slot frees.
/// A worker that dies has its running steps queued again (at the front: they waited longest).
/// </summary>
public sealed class WorkerPool : ReceiveActor
{
    public const string Name = "worker-pool";

    private sealed record Pending(StepSpec Spec, IActorRef ReplyTo);

    private sealed class WorkerState(IActorRef actor, string id, int slots)
    {
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
                _workers[Sender] = new WorkerState(Sender, r.WorkerId, Math.Max(1, r.Slots));
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
                    CacheKey = d.Spec.CacheKey,
                    Reason = $"RESOURCE_EXHAUSTED: {_queue.Count} steps already wait for a worker",
                });
                return;
            }
            _queue.AddLast(new Pending(d.Spec, Sender));
            TryDispatch();
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
                if (node.Value.Spec.CacheKey != c.CacheKey) continue;
                _queue.Remove(node);
                node.Value.ReplyTo.Tell(new StepFailed { CacheKey = c.CacheKey, Message = "canceled" });
                return;
            }
            foreach (var worker in _workers.Values.Where(w => w.Running.ContainsKey(c.CacheKey)))
                worker.Actor.Tell(c);
        });

        Receive<Terminated>(t =>
        {
            if (!_workers.Remove(t.ActorRef, out var gone)) return;
            _log.Warning("worker {0} left with {1} running steps; dispatching them again", gone.Id, gone.Running.Count);
            foreach (var pending in gone.Running.Values)
                _queue.AddFirst(pending);
            TryDispatch();
        });
    }

    private void TryDispatch()
    {
        while (_queue.First is { } next)
        {
            // Least loaded first; a worker with a free slot is required.
            var worker = _workers.Values.Where(w => w.Free > 0)
                .OrderByDescending(w => (double)w.Free / w.Slots).FirstOrDefault();
            if (worker is null) return;
            _queue.RemoveFirst();
            worker.Running[next.Value.Spec.CacheKey] = next.Value;
            worker.Actor.Tell(new ExecuteStep
            {
                Spec = next.Value.Spec,
                ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(next.Value.ReplyTo),
            }, Self);
        }
    }

    public static Props Props(int maxQueued) => Akka.Actor.Props.Create(() => new WorkerPool(maxQueued));
}
