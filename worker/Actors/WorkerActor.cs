using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using BuildFarm.Protos.Cluster;
using Google.Protobuf;

namespace BuildFarm.Worker.Actors;

/// <summary>
/// Wraps the worker's execution facade: registers its slots with the worker pool of every coordinator
/// node, runs the steps it is sent, and streams their output to the step entity that asked.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    public const string Name = "worker";
    private const string PoolName = "worker-pool";

    private sealed record RunSucceeded(string CacheKey, StepResult Result);
    private sealed record RunFaulted(string CacheKey, Exception Error);

    private sealed record Execution(IActorRef ReplyTo, IActorRef Pool, CancellationTokenSource Cancel);

    private readonly IStepRunner _runner;
    private readonly string _workerId;
    private readonly int _slots;
    private readonly Dictionary<string, Execution> _running = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerActor(IStepRunner runner, string workerId, int slots)
    {
        _runner = runner;
        _workerId = workerId;
        _slots = slots;

        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members.Where(m => m.Status == MemberStatus.Up)) Register(member);
        });
        Receive<ClusterEvent.MemberUp>(up => Register(up.Member));
        Receive<ClusterEvent.IMemberEvent>(_ => { });

        Receive<ExecuteStep>(Execute);
        Receive<CancelExecution>(c =>
        {
            if (_running.TryGetValue(c.CacheKey, out var execution)) execution.Cancel.Cancel();
        });
        Receive<RunSucceeded>(s => Complete(s.CacheKey, new StepCompleted { Result = s.Result, Cached = false }));
        Receive<RunFaulted>(f => Complete(f.CacheKey, ToFailure(f.CacheKey, f.Error)));
    }

    public static Props Props(IStepRunner runner, string workerId, int slots) =>
        Akka.Actor.Props.Create(() => new WorkerActor(runner, workerId, slots));

    protected override void PreStart() =>
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop()
    {
        Cluster.Get(Context.System).Unsubscribe(Self);
        // The runner's own cleanup (containers, mounts) runs as each canceled task unwinds.
        foreach (var execution in _running.Values) execution.Cancel.Cancel();
    }

    private void Register(Member member)
    {
        if (!member.HasRole("coordinator")) return;
        var pool = new RootActorPath(member.Address) / "user" / PoolName;
        Context.ActorSelection(pool).Tell(new RegisterWorker { WorkerId = _workerId, Slots = _slots });
    }

    private void Execute(ExecuteStep execute)
    {
        var key = execute.Spec.CacheKey;
        var replyTo = ResolveReplyTo(execute.ReplyTo);
        if (_running.ContainsKey(key))
        {
            // The pool sent the same key twice (after a re-registration): the running execution answers both.
            return;
        }
        var cancel = new CancellationTokenSource();
        _running[key] = new Execution(replyTo, Sender, cancel);
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        replyTo.Tell(new StepStarted { CacheKey = key, Worker = _workerId, StartedUnixMs = started });
        var output = new ActorStepOutput(replyTo, key);
        var self = Self;
        RunAsync(execute.Spec, output, started, cancel.Token)
            .PipeTo(self, success: r => new RunSucceeded(key, r), failure: ex => new RunFaulted(key, ex));
    }

    private async Task<StepResult> RunAsync(StepSpec spec, IStepOutput output, long started, CancellationToken cancellationToken)
    {
        var result = await _runner.RunAsync(spec, output, cancellationToken);
        result.CacheKey = spec.CacheKey;
        result.Worker = _workerId;
        result.StartedUnixMs = started;
        result.CompletedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return result;
    }

    private void Complete(string cacheKey, IMessage outcome)
    {
        if (!_running.Remove(cacheKey, out var execution)) return;
        execution.Cancel.Dispose();
        execution.ReplyTo.Tell(outcome);
        execution.Pool.Tell(new WorkerSlotFreed { WorkerId = _workerId, CacheKey = cacheKey });
    }

    private StepFailed ToFailure(string cacheKey, Exception error)
    {
        var inner = error is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : error;
        return inner switch
        {
            StepRunFailedException failed => new StepFailed { CacheKey = cacheKey, Message = failed.Message, ExitCode = failed.ExitCode },
            OperationCanceledException => new StepFailed { CacheKey = cacheKey, Message = "canceled" },
            _ => LogAndWrap(cacheKey, inner),
        };
    }

    private StepFailed LogAndWrap(string cacheKey, Exception error)
    {
        _log.Error(error, "step {0} failed on worker {1}", cacheKey, _workerId);
        return new StepFailed { CacheKey = cacheKey, Message = $"worker {_workerId}: {error.Message}", Retryable = true };
    }

    private IActorRef ResolveReplyTo(string path)
    {
        var system = (ExtendedActorSystem)Context.System;
        return string.IsNullOrEmpty(path) ? Sender : system.Provider.ResolveActorRef(path);
    }

    /// <summary>Forwards output lines to the step entity as they come (Tell is safe from any thread).</summary>
    private sealed class ActorStepOutput(IActorRef replyTo, string cacheKey) : IStepOutput
    {
        public void Write(int stream, string line) =>
            replyTo.Tell(new StepLog { CacheKey = cacheKey, Stream = stream, Data = ByteString.CopyFromUtf8(line + "\n") });
    }
}
