using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Remote.Transport.DotNetty;
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
            if (options.SeedNodes.Count == 0)
                await cluster.JoinAsync(cluster.SelfAddress, cancellationToken);
            else
                await cluster.JoinSeedNodesAsync(options.SeedNodes.Select(Address.Parse), cancellationToken);

            var sharding = ClusterSharding.Get(system);
            var extractor = new EngineMessageExtractor(MaxShards);
            IActorRef builds, steps;
            IActorRef? pool = null;
            if (options.Roles.Contains(EngineRoles.Coordinator))
            {
                pool = system.ActorOf(WorkerPool.Props(options.MaxQueuedSteps), ActorNames.WorkerPool);
                var settings = ClusterShardingSettings.Create(system).WithRole(EngineRoles.Coordinator);
                var localPool = pool;
                steps = await sharding.StartAsync(ActorNames.StepShard,
                    key => StepEntity.Props(key, records, localPool, options.Timings), settings, extractor);
                var stepRegion = steps;
                builds = await sharding.StartAsync(ActorNames.BuildShard,
                    id => BuildEntity.Props(id, stepRegion, options.Timings), settings, extractor);
            }
            else
            {
                steps = await sharding.StartProxyAsync(ActorNames.StepShard, EngineRoles.Coordinator, extractor);
                builds = await sharding.StartProxyAsync(ActorNames.BuildShard, EngineRoles.Coordinator, extractor);
            }
            return new EngineNode(system, builds, steps, pool) { Timings = options.Timings };
        }
        catch
        {
            await system.Terminate();
            throw;
        }
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
        var watcher = System.ActorOf(BuildWatcher.Props(events.Writer));
        IActorRef? provider = null;
        if (secrets.Count > 0)
        {
            provider = System.ActorOf(SecretProvider.Props(start.BuildId, secrets), "secrets-" + start.BuildId);
            start = new StartBuild(start) { SecretProvider = Akka.Serialization.Serialization.SerializedActorPath(provider) };
        }
        await using var onCancel = cancellationToken.Register(() =>
            Builds.Tell(new CancelBuildCommand { BuildId = start.BuildId, Reason = "canceled" }, watcher));
        try
        {
            Builds.Tell(start, watcher);
            await foreach (var message in events.Reader.ReadAllAsync(CancellationToken.None))
            {
                yield return message;
                if (message is BuildFinished) yield break;
            }
        }
        finally
        {
            System.Stop(watcher);
            if (provider is not null) System.Stop(provider);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
    }
}
