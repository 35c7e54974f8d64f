namespace BuildFarm.Protos;

/// <summary>
/// The liveness clock of the engine, shared by both sides: how often a running step says it is alive, how long
/// silence means it is gone, when an idle entity stops, and when a build asks again about a step it has not heard of.
/// </summary>
public sealed record EngineTimings
{
    /// <summary>A worker reports each running step this often.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A step whose worker has not reported for this long is gone (dispatched again once, then failed).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>A step entity with no waiters and no running step stops itself after this long.</summary>
    public TimeSpan StepIdleTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>A build re-sends its request for a step it has heard nothing of for this long. Two heartbeat intervals:
    /// a running step is never this silent, so a re-ask means its entity was lost (a coordinator died or left) or the
    /// step still waits for a slot (answered at once with a heartbeat). Short, so a build on a surviving coordinator
    /// resumes within seconds of the dead one being downed.</summary>
    public TimeSpan BuildReaskInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A step entity keeps the result of a run it did not dispatch (its dispatcher was lost) this long for a
    /// build that asks for the key: the key covers the definition, so the result is as good as a record.</summary>
    public TimeSpan OrphanResultKeep { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>A step queued in a pool that has known no worker for this long fails (the farm has no worker to run it).</summary>
    public TimeSpan NoWorkerTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long a worker waits for a build's secrets.</summary>
    public TimeSpan SecretsTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a finished step waits for its cache-miss explanation, so progress shows it before DONE.</summary>
    public TimeSpan MissExplanationGrace { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>What "now" is when the entities measure silence (a heartbeat's age, a run's freshness): the system
    /// clock; a test moves its own so that how fast a loaded machine runs it cannot decide the outcome.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public static EngineTimings Default { get; } = new();
}
