using Akka.Actor;
using Akka.Event;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The "why did this step miss the cache?" side of a <see cref="StepEntity"/>: looks the nearest earlier record up
/// after a dispatch (never delaying the step), tells the waiters, and holds a completion back for a moment so the
/// explanation arrives before the result. Keeps the entity's dedupe logic free of it.
/// </summary>
/// <param name="grace">How long a finished step waits for its miss explanation (so progress shows it before DONE).</param>
public sealed class MissExplanations(IStepRecordStore records, IActorRef self, ITimerScheduler timers, ILoggingAdapter log, TimeSpan grace)
{

    /// <summary>What the entity must hand back to <see cref="Handle"/>.</summary>
    public abstract record Event(int Run) : INoSerializationVerificationNeeded;
    private sealed record LookedUp(int Run, StepMissExplained Explained) : Event(Run);
    private sealed record LookupFailed(int Run, Exception Error) : Event(Run);
    private sealed record Overdue(int Run) : Event(Run);

    private int _run;
    private bool _pending;
    private StepCompleted? _held;

    /// <summary>The current run's explanation, for a build that joins late.</summary>
    public StepMissExplained? Current { get; private set; }

    /// <summary>A new run starts: explain it (the no-cache reason is known at once).</summary>
    public void Begin(StepDefinition definition, string stepIdentity, bool noCache, Action<object> broadcast)
    {
        _run++;
        _held = null;
        _pending = false;
        Current = null;
        timers.Cancel(nameof(Overdue));
        if (noCache)
        {
            Current = StepMissExplainer.ForNoCache(definition.CacheKey);
            broadcast(Current);
            return;
        }
        if (definition.KeyInputsJson.Length == 0) return;
        _pending = true;
        var run = _run;
        // Whole milliseconds, as records keep their time: this run's own record never counts as an earlier one.
        var dispatchedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        records.ExplainMissAsync(definition, stepIdentity, dispatchedAt, CancellationToken.None)
            .PipeTo(self, success: e => new LookedUp(run, e), failure: ex => new LookupFailed(run, ex));
    }

    /// <summary>True when <paramref name="completed"/> is held until the explanation is out; <see cref="Handle"/> releases it.</summary>
    public bool Hold(StepCompleted completed)
    {
        if (!_pending) return false;
        _held = completed;
        timers.StartSingleTimer(nameof(Overdue), new Overdue(_run), grace);
        return true;
    }

    /// <summary>Takes an <see cref="Event"/>; returns a held completion that may now go out.</summary>
    public StepCompleted? Handle(Event e, Action<object> broadcast)
    {
        if (e.Run != _run) return null; // an earlier run's news: nobody to tell
        switch (e)
        {
            case LookedUp l:
                Current = l.Explained;
                broadcast(l.Explained);
                break;
            case LookupFailed f:
                // Only the explanation is lost; the step runs as it would anyway.
                log.Warning("could not explain the cache miss of a step: {0}", f.Error.Message);
                break;
            case Overdue:
                log.Warning("a cache miss explanation took longer than {0}; completing without it", grace);
                break;
        }
        _pending = false;
        timers.Cancel(nameof(Overdue));
        var held = _held;
        _held = null;
        return held;
    }

    /// <summary>The run ended (failed or abandoned): nothing is held any more.</summary>
    public void End()
    {
        _run++; // late news of the ended run finds nobody
        _pending = false;
        _held = null;
        timers.Cancel(nameof(Overdue));
    }
}
