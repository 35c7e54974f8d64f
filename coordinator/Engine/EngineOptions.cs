using BuildFarm.Coordinator.Telemetry;
using Akka.Actor;
using BuildFarm.Protos;

namespace BuildFarm.Coordinator.Engine;

/// <summary>How one engine node starts: its roles, where it listens, whom it joins.</summary>
public sealed record EngineOptions
{
    public string SystemName { get; init; } = "buildfarm";
    public string Hostname { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (the embedded default).</summary>
    public int Port { get; init; }
    public IReadOnlyList<string> Roles { get; init; } = [EngineRoles.Coordinator, EngineRoles.Worker];
    /// <summary>Seed node addresses; empty means this node forms a cluster of its own.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];
    /// <summary>How long a node with seeds tries to join before <see cref="EngineNode.StartAsync"/> gives up with an
    /// <see cref="EngineJoinException"/> naming the seeds.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>When set, the node joins through this instead of its seeds (cluster bootstrap: it finds the cluster, or
    /// forms it, by service discovery); it completes once this node is Up. <see cref="JoinTimeout"/> bounds it too.</summary>
    public Func<ActorSystem, CancellationToken, Task>? Join { get; init; }
    /// <summary>Steps waiting for a worker slot beyond this are rejected with RESOURCE_EXHAUSTED.</summary>
    public int MaxQueuedSteps { get; init; } = 10_000;
    /// <summary>Per-team limits of running steps, cluster-wide (the <see cref="TeamPermits"/> singleton grants them);
    /// every coordinator of a cluster must be given the same.</summary>
    public TeamQuotas Quotas { get; init; } = TeamQuotas.Unlimited;
    /// <summary>Where the pool and builds report metrics and traces; null: nowhere.</summary>
    public FarmTelemetry? Telemetry { get; init; }
    public string LogLevel { get; init; } = "WARNING";
    /// <summary>Heartbeats, idle stop, re-ask: the engine's liveness clock.</summary>
    public EngineTimings Timings { get; init; } = EngineTimings.Default;
    /// <summary>Mutual TLS on remoting. Null: plain TCP, which any local user can connect to and send actor messages
    /// through; hosts (the CLI's embedded engine and <c>serve</c>) always set it.</summary>
    public RemotingTls? Tls { get; init; }
    /// <summary>When set (<c>--debug</c>), engine log events are appended here in full, stack traces included;
    /// stdout gets one line per event either way.</summary>
    public string? DebugLogPath { get; init; }
    /// <summary>HOCON that overrides the generated configuration (tests turn on serialize-messages with it).</summary>
    public string ExtraHocon { get; init; } = "";
}
