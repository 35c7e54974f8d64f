using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// One live entity per cache key in the whole cluster (sharding guarantees it), which is what makes identical steps
/// run once: a record hit answers at once, a running step gains waiters, otherwise the step is dispatched.
/// It keeps no build's data beyond its waiters' own requests: every dispatch takes the inputs of a build that still
/// waits. A running step is watched (worker death watch and heartbeats); a lost or unavailable run is dispatched once
/// more, preferably elsewhere, then failed. The entity stops itself only when idle with nobody waiting.
/// </summary>
public sealed class StepEntity : ReceiveActor, IWithTimers
{
    private const int LogTailLines = 20;
    private const string LivenessTimer = "liveness";

    private sealed record RecordLookedUp(StepResult? Result) : INoSerializationVerificationNeeded;
    private sealed record RecordSaved(StepCompleted Completed) : INoSerializationVerificationNeeded;
    private sealed record RecordSaveFailed(StepCompleted Completed, Exception Error) : INoSerializationVerificationNeeded;
    private sealed record CheckLiveness : INoSerializationVerificationNeeded;
    private sealed record LookupOverdue : INoSerializationVerificationNeeded;

    private readonly string _cacheKey;
    private readonly IStepRecordStore _records;
    private readonly IActorRef _pool;
    private readonly EngineTimings _timings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Insertion-ordered, so the longest-waiting build's inputs are used first.
    private readonly OrderedDictionary<IActorRef, RequestStep> _waiters = [];
    private readonly StepLogTail _logTail = new(LogTailLines);
    private MissExplanations _misses = null!;
    private bool _forceRun;

    // The current run: which dispatch, for whom, on which worker, when last heard of.
    private int _attempt;
    private string _runFor = "";
    private StepDefinition? _runDefinition;
    private string _runIdentity = "";
    private bool _retried;
    private bool _cancelRequested;
    private StepStarted? _started;
    private IActorRef? _worker;
    private DateTime _lastHeard;

    public ITimerScheduler Timers { get; set; } = null!;

    public StepEntity(string cacheKey, IStepRecordStore records, IActorRef pool, EngineTimings timings)
    {
        _cacheKey = cacheKey;
        _records = records;
        _pool = pool;
        _timings = timings;
        Context.SetReceiveTimeout(_timings.StepIdleTimeout);
        Become(Idle);
    }

    public static Props Props(string cacheKey, IStepRecordStore records, IActorRef pool, EngineTimings timings) =>
        Akka.Actor.Props.Create(() => new StepEntity(cacheKey, records, pool, timings));

    protected override void PreStart() => _misses = new MissExplanations(_records, Self, Timers, _log);

    private void BecomeIdle()
    {
        _runDefinition = null;
        _runFor = "";
        _runIdentity = "";
        _started = null;
        StopWatchingWorker();
        Timers.CancelAll();
        _misses.End();
        // Idle with nobody waiting is the only state in which the entity may go; nothing else stops it.
        Context.SetReceiveTimeout(_timings.StepIdleTimeout);
        Become(Idle);
    }

    private void Idle()
    {
        Receive<RequestStep>(r =>
        {
            Context.SetReceiveTimeout(null);
            _waiters[Sender] = r;
            if (r.NoCache)
            {
                Dispatch(r, noCache: true);
                return;
            }
            // No in-memory answer: the record is read again, so a pruned layer is never handed out.
            _records.FindAsync(_cacheKey, CancellationToken.None)
                .PipeTo(Self, success: found => new RecordLookedUp(found), failure: ex =>
                {
                    _log.Warning("step record lookup for {0} failed: {1}", _cacheKey, ex.Message);
                    return new RecordLookedUp(null);
                });
            // A store that never answers must not hold the builds: past this, the step runs as on a miss.
            Timers.StartSingleTimer(nameof(LookupOverdue), new LookupOverdue(), _timings.HeartbeatTimeout);
            Become(Checking);
        });
        Receive<WithdrawStep>(_ => _waiters.Remove(Sender));
        Receive<ReceiveTimeout>(_ =>
        {
            if (_waiters.Count == 0) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
        IgnoreStale();
    }

    private void Checking()
    {
        Receive<RequestStep>(r =>
        {
            _waiters[Sender] = r;
            _forceRun |= r.NoCache;
        });
        Receive<WithdrawStep>(_ => _waiters.Remove(Sender));
        Receive<LookupOverdue>(_ =>
        {
            _log.Warning("step record lookup for {0} took longer than {1}; running the step", _cacheKey, _timings.HeartbeatTimeout);
            Self.Tell(new RecordLookedUp(null));
        });
        Receive<RecordLookedUp>(found =>
        {
            Timers.Cancel(nameof(LookupOverdue));
            var force = _forceRun;
            _forceRun = false;
            if (found.Result is not null && !force)
            {
                ReplyAll(new StepCompleted { Result = found.Result, Cached = true });
                BecomeIdle();
            }
            else if (_waiters.Count == 0)
                BecomeIdle();
            else
                Dispatch(_waiters.GetAt(0).Value, force);
        });
        IgnoreStale();
    }

    private void Running()
    {
        Receive<RequestStep>(r =>
        {
            // Dedupe: a build asking for a step that is already running waits for the same run. A build asking
            // again (it heard nothing for a while) is the same waiter: it hears where the run stands.
            if (_waiters.ContainsKey(Sender))
                Sender.Tell(new StepHeartbeat { CacheKey = _cacheKey, Worker = _started?.Worker ?? "", Attempt = _attempt });
            _waiters[Sender] = r;
            if (_misses.Current is { } explained) Sender.Tell(explained);
            if (_started is not null) Sender.Tell(_started);
            foreach (var line in _logTail.Lines)
                Sender.Tell(new StepLog { CacheKey = _cacheKey, Data = Google.Protobuf.ByteString.CopyFromUtf8(line + "\n"), Stream = 1, Attempt = _attempt });
        });
        Receive<WithdrawStep>(w =>
        {
            _waiters.Remove(Sender);
            // The run uses the inputs of the build that left (its context, its secrets): stop it, and run again with
            // the inputs of a build that still waits; with nobody left, just stop it.
            if ((_waiters.Count == 0 || w.BuildId == _runFor) && !_cancelRequested)
            {
                _cancelRequested = true;
                _pool.Tell(new CancelExecution { CacheKey = _cacheKey });
            }
        });
        Receive<StepStarted>(s => s.Attempt == _attempt, s =>
        {
            _started = s;
            WatchWorker(Sender);
            Heard();
            Broadcast(s);
        });
        Receive<StepHeartbeat>(h => h.Attempt == _attempt, h =>
        {
            Heard();
            Broadcast(h);
        });
        Receive<StepLog>(l => l.Attempt == _attempt, l =>
        {
            Heard();
            _logTail.Add(l.Data.Span);
            Broadcast(l);
        });
        Receive<StepCompleted>(c => c.Attempt == _attempt, c =>
        {
            Heard();
            // Stop watching: saving the record may be slow, and the worker is done with the step.
            StopWatchingWorker();
            _records.SaveAsync(_runDefinition!, _runIdentity, c.Result, CancellationToken.None)
                .PipeTo(Self, success: () => new RecordSaved(c), failure: ex => new RecordSaveFailed(c, ex));
        });
        Receive<RecordSaved>(s => Complete(s.Completed));
        Receive<RecordSaveFailed>(f =>
        {
            // The layer exists; only the index entry is missing, so this build can still use the result.
            _log.Warning("could not save the step record of {0}: {1}", _cacheKey, f.Error.Message);
            Complete(f.Completed);
        });
        Receive<StepFailed>(f => f.Attempt == _attempt, f =>
        {
            if (_cancelRequested && _waiters.Count > 0)
            {
                // Canceled for a build that left while others wait: run again with the inputs of one that waits.
                Dispatch(_waiters.GetAt(0).Value, noCache: false, again: true);
                return;
            }
            if (f.ErrorClass == ErrorClass.Unavailable && !f.RetriesExhausted && !_cancelRequested)
            {
                Lost(f.Message);
                return;
            }
            Fail(f);
        });
        Receive<DispatchRejected>(r => r.Attempt == _attempt, r =>
            Fail(new StepFailed { CacheKey = _cacheKey, Message = r.Reason, ErrorClass = ErrorClass.Unavailable }));
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_worker)) return;
            Lost($"worker {_started?.Worker} died while running the step");
        });
        Receive<CheckLiveness>(_ =>
        {
            // Before the worker starts the step it waits in the pool's queue, which is no sign of loss.
            if (_worker is null || DateTime.UtcNow - _lastHeard < _timings.HeartbeatTimeout) return;
            Lost($"worker {_started?.Worker} sent no heartbeat for {_timings.HeartbeatTimeout.TotalSeconds:0} s");
        });
        IgnoreStale();
    }

    private void Dispatch(RequestStep request, bool noCache, bool again = false, string? avoidWorker = null)
    {
        _attempt++;
        if (!again) _retried = false;
        _cancelRequested = false;
        _runFor = request.Inputs?.BuildId ?? "";
        _runDefinition = request.Definition;
        _runIdentity = request.Inputs?.StepIdentity ?? "";
        _started = null;
        StopWatchingWorker();
        _logTail.Clear();
        var dispatch = new DispatchStep { Definition = request.Definition, Inputs = request.Inputs, Attempt = _attempt };
        if (avoidWorker is { Length: > 0 }) dispatch.AvoidWorkers.Add(avoidWorker);
        _pool.Tell(dispatch);
        Timers.StartPeriodicTimer(LivenessTimer, new CheckLiveness(), LivenessCheckInterval);
        Context.SetReceiveTimeout(null);
        Become(Running);
        if (!again) _misses.Begin(request.Definition, _runIdentity, noCache, Broadcast);
    }

    /// <summary>The run is gone (worker dead or silent, or it reported an unavailable dependency): once more elsewhere, then fail.</summary>
    private void Lost(string reason)
    {
        if (!_retried && _waiters.Count > 0)
        {
            _log.Warning("step {0}: {1}; dispatching it again", _cacheKey, reason);
            _retried = true;
            Dispatch(_waiters.GetAt(0).Value, noCache: false, again: true, avoidWorker: _started?.Worker);
            return;
        }
        Fail(new StepFailed
        {
            CacheKey = _cacheKey,
            ErrorClass = ErrorClass.Unavailable,
            Message = _retried ? $"{reason} (the step was already dispatched again once after losing it)" : reason,
        });
    }

    private void Fail(StepFailed failed)
    {
        // A new message: the received one is never changed.
        var reply = new StepFailed
        {
            CacheKey = _cacheKey,
            Message = failed.Message,
            ExitCode = failed.ExitCode,
            ErrorClass = failed.ErrorClass,
            Attempt = failed.Attempt,
        };
        reply.LogTail.AddRange(failed.LogTail.Count > 0 ? failed.LogTail : _logTail.Flush());
        ReplyAll(reply);
        BecomeIdle();
    }

    private void Complete(StepCompleted completed)
    {
        if (_misses.Hold(completed)) return;
        ReplyAll(completed);
        BecomeIdle();
    }

    private void IgnoreStale()
    {
        Receive<MissExplanations.Event>(e =>
        {
            if (_misses.Handle(e, Broadcast) is { } held)
            {
                ReplyAll(held);
                BecomeIdle();
            }
        });
        // News of an abandoned attempt, or of a worker no longer watched, needs nothing.
        Receive<StepStarted>(_ => { });
        Receive<StepHeartbeat>(_ => { });
        Receive<StepLog>(_ => { });
        Receive<StepCompleted>(_ => { });
        Receive<StepFailed>(_ => { });
        Receive<DispatchRejected>(_ => { });
        Receive<Terminated>(_ => { });
        Receive<CheckLiveness>(_ => { });
        Receive<LookupOverdue>(_ => { });
        Receive<RecordLookedUp>(_ => { }); // a lookup answered after it was given up on
    }

    private TimeSpan LivenessCheckInterval =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _timings.HeartbeatTimeout.Ticks / 4));

    private void Heard() => _lastHeard = DateTime.UtcNow;

    private void WatchWorker(IActorRef worker)
    {
        if (worker.Equals(_worker)) return;
        StopWatchingWorker();
        _worker = worker;
        if (!worker.IsNobody()) Context.Watch(worker);
    }

    private void StopWatchingWorker()
    {
        if (_worker is not null && !_worker.IsNobody()) Context.Unwatch(_worker);
        _worker = null;
    }

    private void Broadcast(object message)
    {
        foreach (var waiter in _waiters.Keys) waiter.Tell(message);
    }

    private void ReplyAll(object message)
    {
        Broadcast(message);
        _waiters.Clear();
    }
}
