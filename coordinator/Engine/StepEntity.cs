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
/// Workers send their news through the step shard region by cache key, so an entity rebuilt elsewhere (its coordinator
/// left or died) hears of runs it did not dispatch: it joins such a run when builds wait (or when a build asks again),
/// and keeps such a run's result for the next build that asks — the key covers the definition, so it is as good as a
/// record. Attempts of each incarnation start at a random base, so news of an earlier incarnation's run is never taken
/// for this one's.
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
    private sealed record OrphanGraceOver : INoSerializationVerificationNeeded;
    /// <summary>A run this incarnation did not dispatch, heard of through the region (its dispatcher was lost).</summary>
    private sealed record OrphanRun(int Attempt, IActorRef Worker, string WorkerId, StepStarted? Started, DateTime LastHeard);

    /// <summary>The shard's hand-off stop message: the waiters are told to ask again (the entity is rebuilt where the
    /// shard goes and joins the run through the worker's news), then the entity stops. The run is not canceled.</summary>
    public sealed class HandOff : INoSerializationVerificationNeeded
    {
        public static HandOff Instance { get; } = new();
        private HandOff() { }
    }

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
    // Attempts this incarnation dispatched or joined (news of any other is an orphan's), and those whose news is the
    // current run's: the own dispatch and possibly an orphan run joined while the own one had not started.
    private readonly HashSet<int> _known = [];
    private readonly HashSet<int> _current = [];
    private bool _ownInFlight;
    private bool _saving;
    private OrphanRun? _orphan;
    private StepCompleted? _orphanResult;
    private DateTime _orphanResultAt;
    // A waiter asked again: a run may be going on that this incarnation never heard of; give it a heartbeat to speak.
    private bool _reasked;
    private bool _graceSpent;
    private bool _awaitingOrphan;
    private string _runFor = "";
    private StepDefinition? _runDefinition;
    private string _runIdentity = "";
    private bool _retried;
    private bool _cancelRequested;
    private StepStarted? _started;
    private IActorRef? _worker;
    private DateTime _lastHeard;

    public ITimerScheduler Timers { get; set; } = null!;

    public StepEntity(string cacheKey, IStepRecordStore records, IActorRef pool, EngineTimings timings, int attemptBase)
    {
        _attempt = attemptBase;
        _cacheKey = cacheKey;
        _records = records;
        _pool = pool;
        _timings = timings;
        Context.SetReceiveTimeout(_timings.StepIdleTimeout);
        Become(Idle);
    }

    /// <param name="attemptBase">This incarnation's attempts are base+1, base+2, …; the engine passes
    /// <see cref="NewAttemptBase"/> so that two incarnations of one key never share an attempt number.</param>
    public static Props Props(string cacheKey, IStepRecordStore records, IActorRef pool, EngineTimings timings, int attemptBase = 0) =>
        Akka.Actor.Props.Create(() => new StepEntity(cacheKey, records, pool, timings, attemptBase));

    /// <summary>A random multiple of 2^10 below 2^30: room for a thousand attempts per incarnation.</summary>
    public static int NewAttemptBase() => Random.Shared.Next(1, 1 << 20) << 10;

    protected override void PreStart() => _misses = new MissExplanations(_records, Self, Timers, _log, _timings.MissExplanationGrace);

    protected override bool AroundReceive(Receive receive, object message)
    {
        // Every completion is acknowledged, whatever this entity makes of it: the worker stops sending it again.
        if (message is StepCompleted c && !Sender.IsNobody())
            Sender.Tell(new StepCompletionReceived { CacheKey = _cacheKey, Attempt = c.Attempt });
        return base.AroundReceive(receive, message);
    }

    private void BecomeIdle()
    {
        _runDefinition = null;
        _runFor = "";
        _runIdentity = "";
        _started = null;
        _current.Clear();
        _ownInFlight = false;
        _saving = false;
        _reasked = false;
        _graceSpent = false;
        _awaitingOrphan = false;
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
            _reasked |= r.Reask;
            if (_orphanResult is { } held)
            {
                TakeOrphanResult(held);
                return;
            }
            if (r.NoCache)
            {
                if (FreshOrphan) Adopt();
                else Dispatch(r, noCache: true);
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
            if (_orphanResult is not null && Now - _orphanResultAt >= _timings.OrphanResultKeep) _orphanResult = null;
            if (_waiters.Count == 0 && _orphanResult is null) Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
        NoteOrphans(onRun: () => { }, onResult: () => { });
        IgnoreStale();
    }

    private void Checking()
    {
        Receive<RequestStep>(r =>
        {
            _waiters[Sender] = r;
            _forceRun |= r.NoCache;
            _reasked |= r.Reask;
        });
        Receive<WithdrawStep>(_ => _waiters.Remove(Sender));
        Receive<OrphanGraceOver>(_ =>
        {
            _awaitingOrphan = false;
            if (_waiters.Count == 0) BecomeIdle();
            else DecideRun(_forceRun);
        });
        Receive<LookupOverdue>(_ =>
        {
            _log.Warning("step record lookup for {0} took longer than {1}; running the step", _cacheKey, _timings.HeartbeatTimeout);
            Self.Tell(new RecordLookedUp(null));
        });
        Receive<RecordLookedUp>(found =>
        {
            Timers.Cancel(nameof(LookupOverdue));
            if (found.Result is not null && !_forceRun)
            {
                _forceRun = false;
                ReplyAll(new StepCompleted { Result = found.Result, Cached = true });
                BecomeIdle();
            }
            else if (_waiters.Count == 0)
            {
                _forceRun = false;
                BecomeIdle();
            }
            else
                DecideRun(_forceRun);
        });
        NoteOrphans(
            onRun: () => { if (_awaitingOrphan) Adopt(); },
            onResult: () => { if (_waiters.Count > 0 && _orphanResult is { } held) TakeOrphanResult(held); });
        IgnoreStale();
    }

    /// <summary>A miss with builds waiting: a result or a run heard of through the region first, else (after a re-ask,
    /// once) a heartbeat interval for a run nobody here knows of to speak up, else a dispatch.</summary>
    private void DecideRun(bool force)
    {
        if (_orphanResult is { } held)
            TakeOrphanResult(held);
        else if (FreshOrphan)
            Adopt();
        else if (_reasked && !_graceSpent)
        {
            _graceSpent = true;
            _awaitingOrphan = true;
            Timers.StartSingleTimer(nameof(OrphanGraceOver), new OrphanGraceOver(), OrphanGrace);
        }
        else
        {
            _forceRun = false;
            Dispatch(_waiters.GetAt(0).Value, force);
        }
    }

    private TimeSpan OrphanGrace => _timings.HeartbeatInterval + _timings.HeartbeatInterval / 2;

    private bool FreshOrphan => _orphan is { } o && Now - o.LastHeard < _timings.HeartbeatTimeout;

    /// <summary>News of a run this incarnation did not dispatch: remembered (the run, or its result) for the builds.</summary>
    private void NoteOrphans(Action onRun, Action onResult)
    {
        Receive<StepStarted>(s => !_known.Contains(s.Attempt), s => { NoteOrphanRun(s.Attempt, s.Worker, s); onRun(); });
        Receive<StepHeartbeat>(h => !_known.Contains(h.Attempt), h => { NoteOrphanRun(h.Attempt, h.Worker, null); onRun(); });
        Receive<StepLog>(l => !_known.Contains(l.Attempt), l =>
        {
            if (_orphan is { } o && o.Attempt == l.Attempt) _orphan = o with { LastHeard = Now };
        });
        Receive<StepCompleted>(c => !_known.Contains(c.Attempt), c =>
        {
            _log.Info("step {0}: kept the result of a run dispatched before this entity was rebuilt", _cacheKey);
            _orphan = null;
            _orphanResult = c;
            _orphanResultAt = Now;
            onResult();
        });
        Receive<StepFailed>(f => !_known.Contains(f.Attempt), f =>
        {
            if (_orphan?.Attempt == f.Attempt) _orphan = null;
        });
    }

    private void NoteOrphanRun(int attempt, string workerId, StepStarted? started)
    {
        var earlier = _orphan?.Attempt == attempt ? _orphan.Started : null;
        _orphan = new OrphanRun(attempt, Sender, workerId, started ?? earlier, Now);
    }

    /// <summary>Joins the orphan run for the builds that wait: no dispatch, the worker is watched as for an own run.</summary>
    private void Adopt()
    {
        var orphan = _orphan!;
        _orphan = null;
        Timers.Cancel(nameof(LookupOverdue));
        var request = _waiters.GetAt(0).Value;
        _log.Info("step {0}: joined run {1} on worker {2} dispatched before this entity was rebuilt", _cacheKey, orphan.Attempt, orphan.WorkerId);
        _forceRun = false;
        _awaitingOrphan = false;
        Timers.Cancel(nameof(OrphanGraceOver));
        _runFor = ""; // the run uses the inputs of a build this incarnation never saw
        _runDefinition = request.Definition;
        _runIdentity = request.Inputs?.StepIdentity ?? "";
        _retried = false;
        _cancelRequested = false;
        _ownInFlight = false;
        _current.Clear();
        _current.Add(orphan.Attempt);
        _known.Add(orphan.Attempt);
        _started = orphan.Started ?? new StepStarted { CacheKey = _cacheKey, Worker = orphan.WorkerId, Attempt = orphan.Attempt };
        _logTail.Clear();
        WatchWorker(orphan.Worker);
        _lastHeard = orphan.LastHeard;
        Timers.StartPeriodicTimer(LivenessTimer, new CheckLiveness(), LivenessCheckInterval);
        Context.SetReceiveTimeout(null);
        Become(Running);
        Broadcast(_started);
    }

    /// <summary>A result of a run this incarnation did not dispatch answers the builds that wait (its record saved first).</summary>
    private void TakeOrphanResult(StepCompleted held)
    {
        _known.Add(held.Attempt);
        Timers.Cancel(nameof(LookupOverdue));
        _orphanResult = null;
        _orphan = null;
        var request = _waiters.GetAt(0).Value;
        _forceRun = false;
        _awaitingOrphan = false;
        Timers.Cancel(nameof(OrphanGraceOver));
        _runDefinition = request.Definition;
        _runIdentity = request.Inputs?.StepIdentity ?? "";
        _ownInFlight = false;
        _current.Clear();
        _started = null;
        Context.SetReceiveTimeout(null);
        Become(Running);
        SaveAndComplete(held);
    }

    private void SaveAndComplete(StepCompleted completed)
    {
        if (_saving) return;
        _saving = true;
        // Stop watching: saving the record may be slow, and the worker is done with the step.
        StopWatchingWorker();
        _records.SaveAsync(_runDefinition!, _runIdentity, completed.Result, CancellationToken.None)
            .PipeTo(Self, success: () => new RecordSaved(completed), failure: ex => new RecordSaveFailed(completed, ex));
    }

    private void Running()
    {
        Receive<RequestStep>(r =>
        {
            // Dedupe: a build asking for a step that is already running waits for the same run. A build asking
            // again (it heard nothing for a while) is the same waiter: it hears where the run stands, nothing twice.
            if (_waiters.ContainsKey(Sender))
            {
                _waiters[Sender] = r;
                Sender.Tell(new StepHeartbeat { CacheKey = _cacheKey, Worker = _started?.Worker ?? "", Attempt = _attempt });
                return;
            }
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
            if ((_waiters.Count == 0 || w.BuildId == _runFor) && !_cancelRequested && !_saving)
            {
                _cancelRequested = true;
                _pool.Tell(new CancelExecution { CacheKey = _cacheKey });
                // A joined run was dispatched by another pool: its worker hears it directly.
                if (!_ownInFlight && _worker is not null && !_worker.IsNobody()) _worker.Tell(new CancelExecution { CacheKey = _cacheKey });
            }
        });
        Receive<StepStarted>(s => _current.Contains(s.Attempt), s =>
        {
            _started = s;
            WatchWorker(Sender);
            Heard();
            Broadcast(s);
        });
        Receive<StepHeartbeat>(h => _current.Contains(h.Attempt), h =>
        {
            Heard();
            Broadcast(h);
        });
        Receive<StepLog>(l => _current.Contains(l.Attempt), l =>
        {
            Heard();
            _logTail.Add(l.Data.Span);
            Broadcast(l);
        });
        Receive<StepCompleted>(c => _current.Contains(c.Attempt), c =>
        {
            Heard();
            SaveAndComplete(c);
        });
        // A run dispatched before this entity was rebuilt: its news counts while the own dispatch has not started
        // (the own one then either joins it on the same worker or is canceled when the first of the two completes).
        Receive<StepStarted>(s => !_known.Contains(s.Attempt), s => JoinAlongside(s.Attempt, s));
        Receive<StepHeartbeat>(h => !_known.Contains(h.Attempt), h => JoinAlongside(h.Attempt, null));
        Receive<StepCompleted>(c => !_known.Contains(c.Attempt), c =>
        {
            // Its result is this key's result whoever dispatched it; an own run still going is not needed any more.
            _known.Add(c.Attempt);
            if (_saving) return;
            if (_ownInFlight) _pool.Tell(new CancelExecution { CacheKey = _cacheKey });
            SaveAndComplete(c);
        });
        Receive<RecordSaved>(s => Complete(s.Completed));
        Receive<RecordSaveFailed>(f =>
        {
            // The layer exists; only the index entry is missing, so this build can still use the result.
            _log.Warning("could not save the step record of {0}: {1}", _cacheKey, f.Error.Message);
            Complete(f.Completed);
        });
        Receive<StepFailed>(f => _current.Contains(f.Attempt) && !_saving, f =>
        {
            if (_ownInFlight && f.Attempt != _attempt)
            {
                // A joined run failed while the own dispatch goes on: that one is the run now.
                _current.Remove(f.Attempt);
                return;
            }
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
        Receive<DispatchRejected>(r => r.Attempt == _attempt && _ownInFlight && !_saving, r =>
            Fail(new StepFailed { CacheKey = _cacheKey, Message = r.Reason, ErrorClass = ErrorClass.Unavailable }));
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_worker) || _saving) return;
            Lost($"worker {_started?.Worker} died while running the step");
        });
        Receive<CheckLiveness>(_ =>
        {
            // Before the worker starts the step it waits in the pool's queue, which is no sign of loss.
            if (_worker is null || _saving || Now - _lastHeard < _timings.HeartbeatTimeout) return;
            Lost($"worker {_started?.Worker} sent no heartbeat for {_timings.HeartbeatTimeout.TotalSeconds:0} s");
        });
        IgnoreStale();
    }

    private void JoinAlongside(int attempt, StepStarted? started)
    {
        if (_started is not null || _saving) return; // the own run started: the other one is not this entity's
        _known.Add(attempt);
        _current.Add(attempt);
        _log.Info("step {0}: joined run {1} dispatched before this entity was rebuilt", _cacheKey, attempt);
        WatchWorker(Sender);
        Heard();
        if (started is null) return;
        _started = started;
        Broadcast(started);
    }

    private void Dispatch(RequestStep request, bool noCache, bool again = false, string? avoidWorker = null)
    {
        _attempt++;
        _known.Add(_attempt);
        _current.Clear();
        _current.Add(_attempt);
        _ownInFlight = true;
        _saving = false;
        if (!again) _retried = false;
        _cancelRequested = false;
        _runFor = request.Inputs?.BuildId ?? "";
        _runDefinition = request.Definition;
        _runIdentity = request.Inputs?.StepIdentity ?? "";
        _started = null;
        StopWatchingWorker();
        _logTail.Clear();
        // Before the dispatch: the explanation takes its time now, and this run's own record (written when it completes,
        // possibly in the same millisecond on a fast worker) must never count as an earlier one.
        if (!again) _misses.Begin(request.Definition, _runIdentity, noCache, Broadcast);
        var dispatch = new DispatchStep { Definition = request.Definition, Inputs = request.Inputs, Attempt = _attempt };
        if (avoidWorker is { Length: > 0 }) dispatch.AvoidWorkers.Add(avoidWorker);
        _pool.Tell(dispatch);
        Timers.StartPeriodicTimer(LivenessTimer, new CheckLiveness(), LivenessCheckInterval);
        Context.SetReceiveTimeout(null);
        Become(Running);
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
        Receive<HandOff>(_ =>
        {
            // The shard moves (a coordinator leaves): the waiters ask the entity's next incarnation now.
            Broadcast(new StepHandedOff { CacheKey = _cacheKey });
            Context.Stop(Self);
        });
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
        Receive<OrphanGraceOver>(_ => { });
    }

    private TimeSpan LivenessCheckInterval =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _timings.HeartbeatTimeout.Ticks / 4));

    /// <summary>The liveness clock (the system's, or a test's that moves only when told).</summary>
    private DateTime Now => _timings.Clock.GetUtcNow().UtcDateTime;

    private void Heard() => _lastHeard = Now;

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
