using Akka.Actor;
using Akka.Event;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// One live entity per cache key in the whole cluster (sharding guarantees it), which is what makes
/// identical steps run once: a record hit answers at once, a running step gains waiters, otherwise
/// the step is dispatched to a worker.
/// </summary>
public sealed class StepEntity : ReceiveActor, IWithTimers
{
    public const string TypeName = "step";
    private const int LogTailLines = 20;

    /// <summary>How long a finished step waits for its miss explanation (so progress shows it before DONE).</summary>
    private static readonly TimeSpan ExplanationGrace = TimeSpan.FromSeconds(1);

    private sealed record RecordLookedUp(StepResult? Result);
    private sealed record RecordSaved(StepCompleted Completed);
    private sealed record RecordSaveFailed(StepCompleted Completed, Exception Error);
    private sealed record MissLookedUp(int Run, StepMissExplained Explained);
    private sealed record MissLookupFailed(int Run, Exception Error);
    private sealed record ExplanationOverdue(int Run);

    private enum MissReason { LookUp, NoCache, SameRunAgain }

    private readonly string _cacheKey;
    private readonly IStepRecordStore _records;
    private readonly IActorRef _pool;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, string> _waiters = [];
    private readonly Queue<string> _logTail = new();
    private readonly List<byte> _partialLine = [];
    private StepSpec? _spec;
    private StepStarted? _started;
    private bool _forceRun;
    private bool _cancelRequested;
    private int _run;
    private StepMissExplained? _explained;
    private bool _explaining;
    private StepCompleted? _held;

    public ITimerScheduler Timers { get; set; } = null!;

    public StepEntity(string cacheKey, IStepRecordStore records, IActorRef pool)
    {
        _cacheKey = cacheKey;
        _records = records;
        _pool = pool;
        Become(Idle);
    }

    public static Props Props(string cacheKey, IStepRecordStore records, IActorRef pool) =>
        Akka.Actor.Props.Create(() => new StepEntity(cacheKey, records, pool));

    private void Idle()
    {
        Receive<RequestStep>(r =>
        {
            // No in-memory answer: the record is read again, so a pruned layer is never handed out.
            AddWaiter(r);
            if (r.NoCache)
                Dispatch(MissReason.NoCache);
            else
            {
                _records.FindAsync(_cacheKey, CancellationToken.None)
                    .PipeTo(Self, success: found => new RecordLookedUp(found),
                        failure: ex =>
                        {
                            _log.Warning("step record lookup for {0} failed: {1}", _cacheKey, ex.Message);
                            return new RecordLookedUp(null);
                        });
                Become(Checking);
            }
        });
        Receive<WithdrawStep>(_ => _waiters.Remove(Sender));
        IgnoreLateExplanations();
    }

    private void Checking()
    {
        Receive<RequestStep>(r =>
        {
            AddWaiter(r);
            _forceRun |= r.NoCache;
        });
        Receive<WithdrawStep>(_ => _waiters.Remove(Sender));
        Receive<RecordLookedUp>(found =>
        {
            if (found.Result is not null && !_forceRun)
            {
                ReplyAll(new StepCompleted { Result = found.Result, Cached = true });
                Become(Idle);
            }
            else if (_waiters.Count == 0)
                Become(Idle);
            else
                Dispatch(_forceRun ? MissReason.NoCache : MissReason.LookUp);
        });
        IgnoreLateExplanations();
    }

    private void Running()
    {
        Receive<RequestStep>(r =>
        {
            // Dedupe: a build asking for a step that is already running waits for the same run.
            AddWaiter(r);
            if (_explained is not null) Sender.Tell(_explained);
            if (_started is not null) Sender.Tell(_started);
            foreach (var line in _logTail)
                Sender.Tell(new StepLog { CacheKey = _cacheKey, Data = Google.Protobuf.ByteString.CopyFromUtf8(line + "\n"), Stream = 1 });
        });
        Receive<WithdrawStep>(_ =>
        {
            _waiters.Remove(Sender);
            if (_waiters.Count == 0 && !_cancelRequested)
            {
                _cancelRequested = true;
                _pool.Tell(new CancelExecution { CacheKey = _cacheKey });
            }
        });
        Receive<StepStarted>(s =>
        {
            _started = s;
            Broadcast(s);
        });
        Receive<StepLog>(l =>
        {
            KeepTail(l.Data.Span);
            Broadcast(l);
        });
        Receive<StepCompleted>(c =>
        {
            _records.SaveAsync(_spec!, c.Result, CancellationToken.None)
                .PipeTo(Self, success: () => new RecordSaved(c), failure: ex => new RecordSaveFailed(c, ex));
        });
        Receive<RecordSaved>(s => Complete(s.Completed));
        Receive<RecordSaveFailed>(f =>
        {
            // The layer exists; only the index entry is missing, so this build can still use the result.
            _log.Warning("could not save the step record of {0}: {1}", _cacheKey, f.Error.Message);
            Complete(f.Completed);
        });
        Receive<StepFailed>(f =>
        {
            if (_cancelRequested && _waiters.Count > 0)
            {
                // Canceled for one build while another one joined: run it again for those who still wait.
                Dispatch(MissReason.SameRunAgain);
                return;
            }
            if (_partialLine.Count > 0) _logTail.Enqueue(System.Text.Encoding.UTF8.GetString([.. _partialLine]));
            if (f.LogTail.Count == 0) f.LogTail.AddRange(_logTail);
            ReplyAll(f);
            Become(Idle);
        });
        Receive<DispatchRejected>(r =>
        {
            ReplyAll(new StepFailed { CacheKey = _cacheKey, Message = r.Reason, Retryable = true });
            Become(Idle);
        });
        Receive<MissLookedUp>(m =>
        {
            if (m.Run != _run) return;
            _explained = m.Explained;
            Broadcast(m.Explained);
            ReleaseHeld();
        });
        Receive<MissLookupFailed>(f =>
        {
            // Only the explanation is lost; the step runs as it would anyway.
            if (f.Run != _run) return;
            _log.Warning("could not explain the cache miss of {0}: {1}", _cacheKey, f.Error.Message);
            ReleaseHeld();
        });
        Receive<ExplanationOverdue>(o =>
        {
            if (o.Run != _run) return;
            _log.Warning("the cache miss explanation of {0} took longer than {1}; completing without it", _cacheKey, ExplanationGrace);
            ReleaseHeld();
        });
    }

    private void Complete(StepCompleted completed)
    {
        if (_explaining)
        {
            // The explanation is nearly always back by now; wait a moment so waiters hear it before the result.
            _held = completed;
            Timers.StartSingleTimer(nameof(ExplanationOverdue), new ExplanationOverdue(_run), ExplanationGrace);
            return;
        }
        ReplyAll(completed);
        Become(Idle);
    }

    private void ReleaseHeld()
    {
        _explaining = false;
        Timers.Cancel(nameof(ExplanationOverdue));
        if (_held is not { } completed) return;
        _held = null;
        ReplyAll(completed);
        Become(Idle);
    }

    private void IgnoreLateExplanations()
    {
        // An explanation that arrives after its run ended (or for an earlier run) has nobody to tell.
        Receive<MissLookedUp>(_ => { });
        Receive<MissLookupFailed>(_ => { });
        Receive<ExplanationOverdue>(_ => { });
    }

    private void AddWaiter(RequestStep request)
    {
        _spec ??= request.Spec;
        _waiters[Sender] = request.BuildId;
    }

    private void Dispatch(MissReason why)
    {
        _forceRun = false;
        _cancelRequested = false;
        _started = null;
        _logTail.Clear();
        _partialLine.Clear();
        _pool.Tell(new DispatchStep { Spec = _spec });
        Become(Running);
        if (why == MissReason.SameRunAgain) return; // the waiters already know why
        _run++;
        _explained = null;
        _explaining = false;
        _held = null;
        if (why == MissReason.NoCache)
        {
            _explained = StepMissExplainer.ForNoCache(_cacheKey);
            Broadcast(_explained);
        }
        else if (_spec is { KeyInputsJson.Length: > 0 })
            ExplainMiss(_spec, _run);
    }

    /// <summary>Looks up the nearest earlier record after the dispatch, so the explanation never delays the step.</summary>
    private void ExplainMiss(StepSpec spec, int run)
    {
        _explaining = true;
        // Whole milliseconds, as records keep their time: this run's own record never counts as an earlier one.
        var dispatchedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _records.ExplainMissAsync(spec, dispatchedAt, CancellationToken.None)
            .PipeTo(Self, success: explained => new MissLookedUp(run, explained), failure: ex => new MissLookupFailed(run, ex));
    }

    private void KeepTail(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (b != (byte)'\n')
            {
                if (_partialLine.Count < 4096) _partialLine.Add(b);
                continue;
            }
            _logTail.Enqueue(System.Text.Encoding.UTF8.GetString([.. _partialLine]));
            _partialLine.Clear();
            while (_logTail.Count > LogTailLines) _logTail.Dequeue();
        }
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
