using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Remote.Transport.DotNetty;
using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// One node of the engine's Akka cluster. With no seed nodes it joins itself (the embedded mode: one
/// process with both roles); the multi-node setup only adds seeds and other nodes.
/// </summary>
public sealed class EngineNode : IAsyncDisposable
{
    private const int MaxShards = 64;

    private EngineNode(ActorSystem system, IActorRef builds, IActorRef steps, IActorRef? pool)
    {
        System = system;
        Builds = builds;
        Steps = steps;
        Pool = pool;
    }

    public ActorSystem System { get; }
    public EngineTimings Timings { get; private init; } = EngineTimings.Default;
    /// <summary>Metrics and traces of this node's builds; null: not recorded.</summary>
    public FarmTelemetry? Telemetry { get; private init; }
    public IActorRef Builds { get; }
    public IActorRef Steps { get; }
    /// <summary>The worker pool of this node, when it has the coordinator role.</summary>
    public IActorRef? Pool { get; }

    public static async Task<EngineNode> StartAsync(EngineOptions options, IStepRecordStore records, CancellationToken cancellationToken)
    {
        var system = ActorSystem.Create(options.SystemName, Bootstrap(options));
        try
        {
            var cluster = Cluster.Get(system);
            // The pool exists before this node is Up: workers register with it the moment they see the node join,
            // and a registration sent to a pool not yet started would be lost.
            IActorRef? pool = options.Roles.Contains(EngineRoles.Coordinator)
                ? system.ActorOf(WorkerPool.Props(options.MaxQueuedSteps, options.Quotas, options.Telemetry?.Metrics, options.Timings.NoWorkerTimeout,
                    // without quotas no step ever asks for a permit: no singleton to look for (nor to warn about)
                    options.Quotas == TeamQuotas.Unlimited || (options.Quotas.Limits.Count == 0 && options.Quotas.Default is null)
                        ? null
                        : StartTeamPermits(system, options.Quotas)), ActorNames.WorkerPool)
                : null;
            if (options.Join is not null)
                await JoinThroughAsync(system, options, cancellationToken);
            else if (options.SeedNodes.Count == 0)
                await cluster.JoinAsync(cluster.SelfAddress, cancellationToken);
            else
                await JoinSeedsAsync(cluster, options, cancellationToken);

            var sharding = ClusterSharding.Get(system);
            var extractor = new EngineMessageExtractor(MaxShards);
            IActorRef builds, steps;
            if (pool is not null)
            {
                var settings = ClusterShardingSettings.Create(system).WithRole(EngineRoles.Coordinator);
                var localPool = pool;
                // Live shards never move when a coordinator joins (NoRebalanceAllocation says why); a shard handed
                // over on a graceful leave tells its step entities' waiters to ask again at once (StepEntity.HandOff).
                steps = await sharding.StartAsync(ActorNames.StepShard,
                    key => StepEntity.Props(key, records, localPool, options.Timings, StepEntity.NewAttemptBase()), settings, extractor,
                    new NoRebalanceAllocation(), StepEntity.HandOff.Instance);
                var stepRegion = steps;
                builds = await sharding.StartAsync(ActorNames.BuildShard,
                    id => BuildEntity.Props(id, stepRegion, options.Timings), settings, extractor,
                    new NoRebalanceAllocation(), PoisonPill.Instance);
            }
            else
            {
                steps = await sharding.StartProxyAsync(ActorNames.StepShard, EngineRoles.Coordinator, extractor);
                builds = await sharding.StartProxyAsync(ActorNames.BuildShard, EngineRoles.Coordinator, extractor);
            }
            var node = new EngineNode(system, builds, steps, pool) { Timings = options.Timings, Telemetry = options.Telemetry };
            node.WatchEnd(cluster);
            return node;
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>Every coordinator runs the manager of the <see cref="TeamPermits"/> singleton (so it can take it over)
    /// and a proxy its pool asks through; the proxy buffers asks while the singleton moves.</summary>
    private static IActorRef StartTeamPermits(ActorSystem system, TeamQuotas quotas)
    {
        system.ActorOf(ClusterSingletonManager.Props(TeamPermits.Props(quotas), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole(EngineRoles.Coordinator)), ActorNames.TeamPermits);
        return system.ActorOf(ClusterSingletonProxy.Props("/user/" + ActorNames.TeamPermits,
            ClusterSingletonProxySettings.Create(system).WithRole(EngineRoles.Coordinator)), ActorNames.TeamPermitsProxy);
    }

    private static async Task JoinThroughAsync(ActorSystem system, EngineOptions options, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.JoinTimeout);
        try
        {
            await options.Join!(system, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EngineJoinException(
                $"could not join the cluster within {options.JoinTimeout.TotalSeconds:0} s through cluster bootstrap: no cluster found nor formed (check the discovery settings)");
        }
    }

    private static async Task JoinSeedsAsync(Cluster cluster, EngineOptions options, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.JoinTimeout);
        try
        {
            await cluster.JoinSeedNodesAsync(options.SeedNodes.Select(Address.Parse), timeout.Token);
        }
        // Akka ends a canceled join with its own ClusterJoinFailedException, not an OperationCanceledException.
        catch (Exception e) when (e is OperationCanceledException or ClusterJoinFailedException && !cancellationToken.IsCancellationRequested)
        {
            // Either our timeout, or the cluster's own give-up (shutdown-after-unsuccessful-join-seed-nodes): one message.
            throw new EngineJoinException(
                $"could not join the cluster within {options.JoinTimeout.TotalSeconds:0} s: no answer from seed {string.Join(", ", options.SeedNodes)}");
        }
    }

    private readonly TaskCompletionSource<EngineEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _endRequested;

    /// <summary>Completes when this node's actor system has terminated: asked to (<see cref="LeaveAsync"/>, dispose), or
    /// because the cluster removed the node (downed) — a host exits non-zero then, so that a supervisor restarts it.</summary>
    public Task<EngineEnd> Ended => _ended.Task;

    private void WatchEnd(Cluster cluster)
    {
        var removed = 0;
        cluster.RegisterOnMemberRemoved(() => Interlocked.Exchange(ref removed, 1));
        // The removal callback may run after termination is seen: the shutdown's reason says "downed" either way.
        System.WhenTerminated.ContinueWith(_ => _ended.TrySetResult(_endRequested
            ? new EngineEnd(true, "left the cluster as asked")
            : new EngineEnd(false, Volatile.Read(ref removed) == 1 || CoordinatedShutdown.Get(System).ShutdownReason is CoordinatedShutdown.ClusterDowningReason
                ? "this node was removed from the cluster (downed or unreachable)"
                : "the actor system stopped")),
            TaskScheduler.Default);
    }

    /// <summary>Leaves the cluster gracefully: running steps finish within <paramref name="drain"/> or are handed back,
    /// shards hand over, then the actor system stops.</summary>
    public async Task LeaveAsync(TimeSpan drain, CancellationToken cancellationToken)
    {
        _endRequested = true;
        // A worker on this node stops admitting and finishes or hands back its steps while the node is still a member,
        // so the step entities hear of every step before the node goes.
        IActorRef? worker = null;
        try { worker = await System.ActorSelection("/user/" + ActorNames.Worker).ResolveOne(TimeSpan.FromSeconds(3), cancellationToken); }
        catch (ActorNotFoundException) { } // no worker role here
        if (worker is not null)
        {
            try
            {
                await worker.Ask<WorkerDrained>(new DrainWorker { DrainMs = (long)drain.TotalMilliseconds },
                    drain + TimeSpan.FromSeconds(10), cancellationToken);
            }
            catch (AskTimeoutException) { } // leave anyway: the pools report its steps UNAVAILABLE when the node goes
        }
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
    }

    /// <summary>The workers the cluster's worker pool knows (this node's pool, or a coordinator's when this node has none).</summary>
    public async Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken)
    {
        var pool = Pool ?? await AnyCoordinatorPoolAsync(cancellationToken);
        var list = await pool.Ask<WorkerList>(new ListWorkersQuery(), TimeSpan.FromSeconds(10), cancellationToken);
        return list.Workers.Select(w => new WorkerInfo(w.WorkerId, w.Pid, w.Address, w.Slots, w.Running, w.StepsExecuted, w.LocalCacheBytes)
        {
            Platforms = [.. w.Platforms.Where(p => !p.Emulated).Select(p => p.Platform)],
            EmulatedPlatforms = [.. w.Platforms.Where(p => p.Emulated).Select(p => p.Platform)],
        }).ToList();
    }

    private async Task<IActorRef> AnyCoordinatorPoolAsync(CancellationToken cancellationToken)
    {
        var coordinator = Cluster.Get(System).State.Members.FirstOrDefault(m => m.Status == MemberStatus.Up && m.HasRole(EngineRoles.Coordinator))
            ?? throw new InvalidOperationException("no coordinator is up in the cluster");
        var path = new RootActorPath(coordinator.Address) / "user" / ActorNames.WorkerPool;
        return await System.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(10), cancellationToken);
    }

    private static ActorSystemSetup Bootstrap(EngineOptions options)
    {
        var setup = BootstrapSetup.Create().WithConfig(EngineConfig.Create(options));
        if (options.Tls is not { } tls)
            return ActorSystemSetup.Create(setup);
        // Both sides present a certificate and each accepts only a pinned one: the server refuses a client without one.
        var ssl = new DotNettySslSetup(tls.Certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: (certificate, _, _, _, _) => tls.Trusts(certificate));
        return setup.And(ssl);
    }

    /// <summary>
    /// Runs one build and yields its <see cref="BuildProgress"/> events, ending with its <see cref="BuildFinished"/>.
    /// Canceling asks the build to stop and still yields the final (canceled) outcome.
    /// </summary>
    /// <param name="secrets">The build's secret values: kept by a <see cref="SecretProvider"/> on this node for the
    /// build's lifetime, handed to workers sealed; the graph and every message carry references only.</param>
    public async IAsyncEnumerable<object> RunBuildAsync(StartBuild start, IReadOnlyDictionary<string, byte[]> secrets,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        IActorRef? provider = null;
        if (secrets.Count > 0)
        {
            provider = System.ActorOf(SecretProvider.Props(start.BuildId, secrets), "secrets-" + start.BuildId);
            start = new StartBuild(start) { SecretProvider = Akka.Serialization.Serialization.SerializedActorPath(provider) };
        }
        // The agents are sockets of this host: a worker elsewhere reaches them through this build's SshAgentProvider.
        IActorRef? sshProvider = null;
        if (start.SshSockets.Count > 0)
        {
            sshProvider = System.ActorOf(SshAgentProvider.Props(start.BuildId, start.SshSockets), "ssh-" + start.BuildId);
            start = new StartBuild(start) { SshProvider = Akka.Serialization.Serialization.SerializedActorPath(sshProvider) };
        }
        // The watcher sends the build and keeps it going if its entity is lost (see BuildWatcher).
        var watcher = System.ActorOf(BuildWatcher.Props(start, Builds, events.Writer, Timings));
        await using var onCancel = cancellationToken.Register(() => watcher.Tell(new BuildWatcher.Cancel("canceled")));
        var trace = Telemetry is { } telemetry ? new BuildTrace(telemetry, start) : null;
        BuildFinished? finished = null;
        try
        {
            await foreach (var message in events.Reader.ReadAllAsync(CancellationToken.None))
            {
                if (message is BuildProgress progress) trace?.Observe(progress.Event);
                if (message is BuildFinished f) finished = f;
                yield return message;
                if (message is BuildFinished) yield break;
            }
        }
        finally
        {
            trace?.Finish(finished);
            System.Stop(watcher);
            if (provider is not null) System.Stop(provider);
            if (sshProvider is not null) System.Stop(sshProvider); // closes every agent connection of the build
        }
    }

    public async ValueTask DisposeAsync()
    {
        _endRequested = true;
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
    }
}
