using System.Security.Cryptography;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using BuildFarm.Cache;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Platforms;
using Google.Protobuf;

namespace BuildFarm.Worker.Actors;

/// <summary>
/// Wraps the worker's execution facade: registers with the worker pool of every coordinator node (re-sent with backoff
/// until acknowledged), is the one authority on its own slots (an <see cref="ExecuteStep"/> beyond them is refused with
/// <see cref="ExecutionRejected"/>, whichever pool sent it), runs the steps it admits, streams their output and a
/// heartbeat to the step entity that asked, tells every pool its <see cref="WorkerStatus"/>, fetches a step's secrets
/// from the asking build at execution time (sealed to an ephemeral key; forgotten after the run), and drains on leave.
/// </summary>
public sealed class WorkerActor : ReceiveActor, IWithTimers
{
    /// <summary>A status names at most this many extracted layers (the most recently used).</summary>
    public const int MaxReportedLayers = 2000;
    private static readonly TimeSpan FirstRegistrationRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRegistrationRetry = TimeSpan.FromSeconds(10);

    private sealed record RunSucceeded(string CacheKey, StepResult Result) : INoSerializationVerificationNeeded;
    private sealed record RunFaulted(string CacheKey, Exception Error) : INoSerializationVerificationNeeded;
    private sealed record Beat : INoSerializationVerificationNeeded;
    private sealed record RetryRegistration(Address Coordinator) : INoSerializationVerificationNeeded;
    private sealed record DrainTimeUp : INoSerializationVerificationNeeded;

    private sealed class Execution(IActorRef replyTo, IActorRef pool, CancellationTokenSource cancel, int attempt)
    {
        public IActorRef ReplyTo { get; set; } = replyTo;
        /// <summary>Every pool that sent this key (an attach from another pool adds one): each hears the slot freed.</summary>
        public HashSet<IActorRef> Pools { get; } = [pool];
        public CancellationTokenSource Cancel { get; } = cancel;
        public int Attempt { get; set; } = attempt;
    }

    /// <summary>A coordinator node's pool: acknowledged (its ref) or still being registered with (the retry delay).</summary>
    private sealed class PoolLink
    {
        public IActorRef? Pool { get; set; }
        public TimeSpan NextRetry { get; set; } = FirstRegistrationRetry;
    }

    private readonly IStepRunner _runner;
    private readonly string _workerId;
    private readonly int _slots;
    private readonly WorkerPlatforms _platforms;
    private readonly EngineTimings _timings;
    private readonly Dictionary<string, Execution> _running = [];
    // Completions not yet acknowledged by a step entity: sent again with each heartbeat for a while.
    private readonly Dictionary<(string Key, int Attempt), (IActorRef ReplyTo, StepCompleted Completed, DateTime Since)> _unacknowledged = [];
    private readonly Dictionary<Address, PoolLink> _pools = [];
    private readonly List<IActorRef> _drainWaiters = [];
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _stepsExecuted;
    private bool _draining;
    private int _finishedWhileDraining;

    public ITimerScheduler Timers { get; set; } = null!;

    public WorkerActor(IStepRunner runner, string workerId, int slots, EngineTimings timings, WorkerPlatforms platforms, string? hostIdentity = null)
    {
        _hostIdentity = HostIdentity.Of(hostIdentity);
        _runner = runner;
        _platforms = platforms;
        _workerId = workerId;
        _slots = Math.Max(1, slots);
        _timings = timings;

        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members.Where(m => m.Status == MemberStatus.Up)) Link(member);
        });
        Receive<ClusterEvent.MemberUp>(up => Link(up.Member));
        Receive<ClusterEvent.MemberRemoved>(removed => Unlink(removed.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<RetryRegistration>(r => Register(r.Coordinator));
        Receive<WorkerRegistered>(_ => Acknowledged(Sender));
        Receive<Terminated>(t => PoolStopped(t.ActorRef));

        Receive<ExecuteStep>(Execute);
        Receive<CancelExecution>(c =>
        {
            if (_running.TryGetValue(c.CacheKey, out var execution)) execution.Cancel.Cancel();
        });
        Receive<Beat>(_ =>
        {
            foreach (var (key, execution) in _running)
                execution.ReplyTo.Tell(new StepHeartbeat { CacheKey = key, Worker = _workerId, Attempt = execution.Attempt });
            ResendUnacknowledged();
            BroadcastStatus();
        });
        Receive<StepCompletionReceived>(a => _unacknowledged.Remove((a.CacheKey, a.Attempt)));
        Receive<RunSucceeded>(s => Complete(s.CacheKey, attempt => new StepCompleted { Result = s.Result, Cached = false, Attempt = attempt }));
        Receive<RunFaulted>(f => Complete(f.CacheKey, attempt => ToFailure(f.CacheKey, f.Error, attempt)));
        Receive<DrainWorker>(Drain);
        Receive<DrainTimeUp>(_ => HandBackAndFinishDrain());
    }

    public static Props Props(IStepRunner runner, string workerId, int slots, EngineTimings? timings = null, WorkerPlatforms? platforms = null,
        string? hostIdentity = null) =>
        Akka.Actor.Props.Create(() => new WorkerActor(runner, workerId, slots, timings ?? EngineTimings.Default, platforms ?? WorkerPlatforms.Unprobed, hostIdentity));

    /// <summary>This worker's host: a build's ssh agent on another host is reached through its coordinator.</summary>
    private readonly string _hostIdentity;

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer(nameof(Beat), new Beat(), _timings.HeartbeatInterval);
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        // The runner's own cleanup (containers, mounts) runs as each canceled task unwinds.
        foreach (var execution in _running.Values) execution.Cancel.Cancel();
    }

    private void Link(Member member)
    {
        if (!member.HasRole(EngineRoles.Coordinator) || _pools.ContainsKey(member.Address)) return;
        _pools[member.Address] = new PoolLink();
        Register(member.Address);
    }

    private void Unlink(Address coordinator)
    {
        if (!_pools.Remove(coordinator, out var link)) return;
        Timers.Cancel(RetryTimer(coordinator));
        if (link.Pool is not null) Context.Unwatch(link.Pool);
    }

    /// <summary>Sends the registration until the pool acknowledges it, backing off to <see cref="MaxRegistrationRetry"/>: a
    /// coordinator whose pool is not up yet (or restarts) still gets this worker.</summary>
    private void Register(Address coordinator)
    {
        if (!_pools.TryGetValue(coordinator, out var link) || link.Pool is not null) return;
        var pool = new RootActorPath(coordinator) / "user" / ActorNames.WorkerPool;
        var registration = new RegisterWorker
        {
            WorkerId = _workerId, Slots = _slots, Pid = Environment.ProcessId, Address = _cluster.SelfAddress.ToString(),
        };
        registration.Platforms.AddRange(_platforms.Platforms);
        Context.ActorSelection(pool).Tell(registration);
        Timers.StartSingleTimer(RetryTimer(coordinator), new RetryRegistration(coordinator), link.NextRetry);
        link.NextRetry = TimeSpan.FromTicks(Math.Min(link.NextRetry.Ticks * 2, MaxRegistrationRetry.Ticks));
    }

    private static string RetryTimer(Address coordinator) => "register-" + coordinator;

    private void Acknowledged(IActorRef pool)
    {
        var coordinator = pool.Path.Address.HasLocalScope ? _cluster.SelfAddress : pool.Path.Address;
        if (!_pools.TryGetValue(coordinator, out var link)) _pools[coordinator] = link = new PoolLink();
        if (Equals(link.Pool, pool)) return;
        Timers.Cancel(RetryTimer(coordinator));
        link.Pool = pool;
        link.NextRetry = FirstRegistrationRetry;
        Context.Watch(pool);
        pool.Tell(Status());
    }

    /// <summary>A pool that stopped while its node stays (restarted, or re-created): register with its successor.</summary>
    private void PoolStopped(IActorRef pool)
    {
        foreach (var (coordinator, link) in _pools.Where(p => Equals(p.Value.Pool, pool)).ToList())
        {
            link.Pool = null;
            Register(coordinator);
        }
    }

    private WorkerStatus Status()
    {
        var usage = _runner.LocalCache(MaxReportedLayers);
        var status = new WorkerStatus
        {
            WorkerId = _workerId, Pid = Environment.ProcessId, Address = _cluster.SelfAddress.ToString(), Slots = _slots,
            StepsExecuted = _stepsExecuted, LocalCacheBytes = usage.Bytes, Draining = _draining,
        };
        status.RunningKeys.AddRange(_running.Keys);
        status.Layers.AddRange(usage.Layers);
        status.Platforms.AddRange(_platforms.Platforms);
        return status;
    }

    private void BroadcastStatus()
    {
        if (!_pools.Values.Any(l => l.Pool is not null)) return;
        var status = Status();
        foreach (var link in _pools.Values) link.Pool?.Tell(status);
    }

    private void Execute(ExecuteStep execute)
    {
        var key = execute.Definition.CacheKey;
        var replyTo = ResolveReplyTo(execute.ReplyTo);
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (_running.TryGetValue(key, out var existing))
        {
            // The same key again (a re-dispatch, or another pool's dispatch): the running execution answers as the new
            // attempt; it takes no slot, since nothing more runs.
            existing.ReplyTo = replyTo;
            existing.Attempt = execute.Attempt;
            existing.Pools.Add(Sender);
            replyTo.Tell(new StepStarted { CacheKey = key, Worker = _workerId, StartedUnixMs = started, Attempt = execute.Attempt });
            return;
        }
        if (_draining || _running.Count >= _slots)
        {
            // Each coordinator's pool counts slots on its own; this worker is the one that knows.
            Sender.Tell(new ExecutionRejected
            {
                CacheKey = key, Attempt = execute.Attempt, WorkerId = _workerId,
                Reason = _draining ? "the worker is draining" : $"all {_slots} slots are busy",
            });
            return;
        }
        // Only RUN executes the image's binaries; file operations run on any worker whatever the platform.
        if (execute.Definition.Run is not null && !_platforms.IsUnprobed && !_platforms.CanRun(execute.Definition.Platform))
        {
            replyTo.Tell(new StepFailed
            {
                CacheKey = key, Attempt = execute.Attempt, ErrorClass = ErrorClass.Unavailable, RetriesExhausted = true,
                Message = $"worker {_workerId}: {_platforms.Missing(execute.Definition.Platform)}",
            });
            Sender.Tell(new WorkerSlotFreed { WorkerId = _workerId, CacheKey = key });
            return;
        }
        var cancel = new CancellationTokenSource();
        _running[key] = new Execution(replyTo, Sender, cancel, execute.Attempt);
        _stepsExecuted++;
        replyTo.Tell(new StepStarted { CacheKey = key, Worker = _workerId, StartedUnixMs = started, Attempt = execute.Attempt, QueuedUnixMs = execute.QueuedUnixMs });
        var output = new ActorStepOutput(replyTo, key, execute.Attempt);
        var system = Context.System;
        RunAsync(system, execute, output, started, cancel.Token)
            .PipeTo(Self, success: r => new RunSucceeded(key, r), failure: ex => new RunFaulted(key, ex));
        BroadcastStatus();
    }

    /// <summary>Stops admitting (the pools hear it in the status), then waits for the running steps up to the drain time.</summary>
    private void Drain(DrainWorker drain)
    {
        _drainWaiters.Add(Sender);
        if (!_draining)
        {
            _draining = true;
            _log.Info("worker {0} draining: {1} running steps get {2} ms to finish", _workerId, _running.Count, drain.DrainMs);
            BroadcastStatus();
            Timers.StartSingleTimer(nameof(DrainTimeUp), new DrainTimeUp(), TimeSpan.FromMilliseconds(Math.Max(0, drain.DrainMs)));
        }
        if (_running.Count == 0) HandBackAndFinishDrain();
    }

    /// <summary>Cancels what still runs and reports each as UNAVAILABLE for its attempt: its step entity dispatches it to
    /// another worker at once, instead of waiting for this node's death to be noticed.</summary>
    private void HandBackAndFinishDrain()
    {
        Timers.Cancel(nameof(DrainTimeUp));
        var drained = new WorkerDrained { WorkerId = _workerId, Finished = _finishedWhileDraining };
        foreach (var (key, execution) in _running.ToList())
        {
            _running.Remove(key);
            execution.Cancel.Cancel();
            execution.ReplyTo.Tell(new StepFailed
            {
                CacheKey = key, Attempt = execution.Attempt, ErrorClass = ErrorClass.Unavailable,
                Message = $"worker {_workerId} left the cluster before the step finished; handed back",
            });
            foreach (var pool in execution.Pools) pool.Tell(new WorkerSlotFreed { WorkerId = _workerId, CacheKey = key });
            drained.HandedBack.Add(key);
        }
        if (drained.HandedBack.Count > 0)
            _log.Warning("worker {0} handed back {1} steps that did not finish within the drain time", _workerId, drained.HandedBack.Count);
        BroadcastStatus();
        foreach (var waiter in _drainWaiters) waiter.Tell(drained);
        _drainWaiters.Clear();
    }

    private async Task<StepResult> RunAsync(ActorSystem system, ExecuteStep execute, IStepOutput output, long started,
        CancellationToken cancellationToken)
    {
        var secrets = await FetchSecretsAsync(system, execute.Inputs, cancellationToken);
        // The build's ssh agents are sockets of its coordinator's host: from another host, each connection is relayed.
        using var ssh = execute.Inputs is { SshProvider.Length: > 0 } inputs && inputs.SshHost != _hostIdentity
            ? new RemoteSshAgentLink(system, inputs.SshProvider, inputs.BuildId, _timings.SecretsTimeout)
            : null;
        try
        {
            var result = await _runner.RunAsync(execute.Definition, execute.Inputs, secrets, ssh, output, cancellationToken);
            return new StepResult(result)
            {
                CacheKey = execute.Definition.CacheKey,
                Worker = _workerId,
                StartedUnixMs = started,
                CompletedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            };
        }
        finally
        {
            // The values lived for this run only.
            foreach (var value in secrets.Values) CryptographicOperations.ZeroMemory(value);
        }
    }

    /// <summary>Asks the build's secret provider for the step's secrets, sealed to a key made for this request only.</summary>
    private async Task<IReadOnlyDictionary<string, byte[]>> FetchSecretsAsync(ActorSystem system, StepInputs? inputs,
        CancellationToken cancellationToken)
    {
        if (inputs is null || inputs.Secrets.Count == 0) return new Dictionary<string, byte[]>();
        if (inputs.SecretProvider.Length == 0)
            return new Dictionary<string, byte[]>(); // the build has no secrets: required mounts fail as "not provided"
        using var key = SecretSealing.NewKey();
        var request = new SecretsRequest { BuildId = inputs.BuildId, PublicKey = SecretSealing.PublicKeyOf(key) };
        request.Ids.AddRange(inputs.Secrets.Select(s => s.Id).Distinct());
        var provider = ((ExtendedActorSystem)system).Provider.ResolveActorRef(inputs.SecretProvider);
        SecretsReply reply;
        try
        {
            reply = await provider.Ask<SecretsReply>(request, _timings.SecretsTimeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            throw new ClassifiedException(ErrorClass.Unavailable,
                $"the build's secrets did not arrive within {_timings.SecretsTimeout.TotalSeconds:0} s (the build may have ended)");
        }
        if (reply.Error.Length > 0) throw new ClassifiedException(ErrorClass.Internal, "secrets: " + reply.Error);
        try
        {
            return SecretSealing.Open(key, reply);
        }
        catch (CryptographicException e)
        {
            throw new ClassifiedException(ErrorClass.Internal, "the build's secrets could not be opened: " + e.Message, e);
        }
    }

    private void Complete(string cacheKey, Func<int, IMessage> outcome)
    {
        if (!_running.Remove(cacheKey, out var execution)) return;
        execution.Cancel.Dispose();
        var message = outcome(execution.Attempt);
        execution.ReplyTo.Tell(message);
        if (message is StepCompleted completed)
            _unacknowledged[(cacheKey, execution.Attempt)] = (execution.ReplyTo, completed, DateTime.UtcNow);
        foreach (var pool in execution.Pools) pool.Tell(new WorkerSlotFreed { WorkerId = _workerId, CacheKey = cacheKey });
        BroadcastStatus();
        if (!_draining) return;
        _finishedWhileDraining++;
        if (_running.Count == 0 && _drainWaiters.Count > 0) HandBackAndFinishDrain();
    }

    /// <summary>A completion sent while the key's coordinator was dead but not yet removed went nowhere: sent again
    /// (by key, to whoever holds it now) until acknowledged, for up to twice the heartbeat timeout.</summary>
    private void ResendUnacknowledged()
    {
        var now = DateTime.UtcNow;
        foreach (var (id, (replyTo, completed, since)) in _unacknowledged.ToList())
        {
            if (now - since > _timings.HeartbeatTimeout * 2) _unacknowledged.Remove(id);
            else replyTo.Tell(completed);
        }
    }

    private StepFailed ToFailure(string cacheKey, Exception error, int attempt)
    {
        var inner = error is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : error;
        var failed = new StepFailed
        {
            CacheKey = cacheKey, Attempt = attempt, ErrorClass = ErrorClasses.Of(inner), Message = inner.Message,
            RetriesExhausted = IsStoreOutage(inner),
        };
        switch (failed.ErrorClass)
        {
            case ErrorClass.UserError:
                failed.ExitCode = inner is StepRunFailedException run ? run.ExitCode : 0;
                break;
            case ErrorClass.Canceled:
                failed.Message = "canceled";
                break;
            default:
                _log.Error(inner, "step {0} failed on worker {1}", cacheKey, _workerId);
                failed.Message = $"worker {_workerId}: {inner.Message}";
                break;
        }
        return failed;
    }

    // The store already retried for its whole budget; running the step again elsewhere meets the same store.
    private static bool IsStoreOutage(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
            if (e is ContentStoreUnavailableException) return true;
        return false;
    }

    /// <summary>
    /// Where news of a run goes: the step shard region (a proxy on a worker-only node), which routes it by cache key to
    /// whichever entity holds the key now — a fixed actor path would die with its coordinator or its shard's move.
    /// Without sharding on this node (unit tests of this actor) the path the pool named.
    /// </summary>
    private IActorRef ResolveReplyTo(string path)
    {
        if (StepRegion() is { } region) return region;
        var system = (ExtendedActorSystem)Context.System;
        return string.IsNullOrEmpty(path) ? Sender : system.Provider.ResolveActorRef(path);
    }

    private IActorRef? _stepRegion;

    private IActorRef? StepRegion()
    {
        if (_stepRegion is not null) return _stepRegion;
        try
        {
            _stepRegion = ClusterSharding.Get(Context.System).ShardRegion(ActorNames.StepShard);
        }
        catch (ArgumentException)
        {
            // The step region (or its proxy) is not started on this node.
        }
        return _stepRegion;
    }

    /// <summary>Forwards output lines to the step entity as they come (Tell is safe from any thread), by cache key.</summary>
    private sealed class ActorStepOutput(IActorRef replyTo, string cacheKey, int attempt) : IStepOutput
    {
        public void Write(int stream, string line) =>
            replyTo.Tell(new StepLog { CacheKey = cacheKey, Stream = stream, Attempt = attempt, Data = ByteString.CopyFromUtf8(line + "\n") }, ActorRefs.NoSender);
    }
}
