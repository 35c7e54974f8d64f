using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster.Sharding;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Planning;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Steps;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Exactly-once under churn, in one process with one actor system per node (coordinators and a worker node joined over
/// TCP on loopback): real sharding, real runc steps, one shared local cache. Each execution is counted by the worker's
/// runner itself, so "ran once" is measured where the step runs.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EngineChurnTests : IAsyncLifetime
{
    // Like a kill -9 for the rest of the cluster: the node's actor system stops without leaving.
    private const string Abrupt = "akka.coordinated-shutdown.run-by-actor-system-terminate = off";

    private readonly BusyboxRootfs _busybox;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Directory.CreateTempSubdirectory("bfchurn").FullName;
    private readonly List<EngineNode> _nodes = [];
    private SharedCache _cache = null!;
    private StepExecutorRunner _runner = null!;
    private CountingRunner _counting = null!;

    public EngineChurnTests(BusyboxFixture busybox, ITestOutputHelper output)
    {
        _busybox = busybox.Rootfs;
        _output = output;
    }

    public Task InitializeAsync()
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        _runner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "w"))));
        _counting = new CountingRunner(_runner);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes)) await node.DisposeAsync();
        await _runner.DrainAsync(TimeSpan.FromSeconds(10));
        _cache.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<EngineNode> StartNodeAsync(string role, string? seed, string extraHocon = "")
    {
        var node = await EngineNode.StartAsync(new EngineOptions
        {
            Roles = [role],
            SeedNodes = seed is null ? [] : [seed],
            ExtraHocon = extraHocon,
        }, new CacheStepRecordStore(_cache), CancellationToken.None);
        _nodes.Add(node);
        return node;
    }

    private async Task<EngineNode> StartWorkerNodeAsync(string seed)
    {
        var node = await StartNodeAsync(EngineRoles.Worker, seed);
        node.System.ActorOf(WorkerActor.Props(_counting, "worker-1", slots: 4), ActorNames.Worker);
        return node;
    }

    private static string Seed(EngineNode node) => Akka.Cluster.Cluster.Get(node.System).SelfAddress.ToString();


    private ContextRef Context => new() { LocalDir = Path.GetDirectoryName(_busybox.TarPath)! };

    /// <summary>scratch + ADD rootfs.tar, then one RUN that sleeps (the step churn happens during), then a second RUN.</summary>
    private static BuildGraph Graph(string salt, int sleepSeconds) => BusyboxChainGraph.Of(BusyboxChainGraph.AddKey,
        ("RUN slow", $"RUN sleep {sleepSeconds} {salt}", $"sleep {sleepSeconds} && echo {salt} > /slow"),
        ("RUN after", $"RUN echo after {salt}", $"echo after-{salt} > /after"));

    private static string SlowKey(BuildGraph graph) => graph.Nodes[2].Definition.CacheKey;

    /// <summary>Runs one build through <paramref name="node"/>'s API; <paramref name="onEvent"/> sees each progress event.</summary>
    private static async Task<BuildFinished> RunAsync(EngineNode node, BuildGraph graph, ContextRef context, string buildId,
        Func<ProgressEvent, Task>? onEvent = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        BuildFinished? finished = null;
        await foreach (var message in node.RunBuildAsync(new StartBuild { BuildId = buildId, Graph = graph, Context = context },
                           new Dictionary<string, byte[]>(), timeout.Token))
        {
            if (message is BuildProgress p && onEvent is not null) await onEvent(p.Event);
            if (message is BuildFinished f) finished = f;
        }
        Assert.NotNull(finished);
        Assert.False(finished.Canceled, $"build {buildId} hung until its 2 min timeout canceled it");
        return finished;
    }

    private void AssertEachStepRanOnce(BuildGraph graph)
    {
        foreach (var node in graph.Nodes.Where(n => n.Definition is not null))
            Assert.True(_counting.Count(node.Definition.CacheKey) == 1,
                $"{node.DisplayName} ran {_counting.Count(node.Definition.CacheKey)} times");
    }

    [Fact]
    public async Task Eight_identical_builds_split_between_two_coordinators_run_each_step_once()
    {
        var first = await StartNodeAsync(EngineRoles.Coordinator, seed: null);
        var second = await StartNodeAsync(EngineRoles.Coordinator, Seed(first));
        await StartWorkerNodeAsync(Seed(first));
        var graph = Graph(Guid.NewGuid().ToString("N")[..8], sleepSeconds: 3);

        var builds = Enumerable.Range(0, 8)
            .Select(i => RunAsync(i % 2 == 0 ? first : second, graph, Context, $"eight-{i}-{Guid.NewGuid():N}"))
            .ToList();
        var results = await Task.WhenAll(builds);

        Assert.All(results, r => Assert.True(r.Success, r.Error));
        Assert.Single(results.Select(r => string.Join(",", r.FinalLayers.Select(l => l.Digest))).Distinct());
        AssertEachStepRanOnce(graph);
    }

    [Fact]
    public async Task Eight_builds_with_a_second_coordinator_joining_mid_build_neither_hang_nor_run_a_step_again()
    {
        var first = await StartNodeAsync(EngineRoles.Coordinator, seed: null);
        await StartWorkerNodeAsync(Seed(first));
        var graph = Graph(Guid.NewGuid().ToString("N")[..8], sleepSeconds: 6);
        var joined = new TaskCompletionSource<EngineNode>(TaskCreationOptions.RunContinuationsAsynchronously);

        var early = Enumerable.Range(0, 4).Select(i => RunAsync(first, graph, Context, $"join-a{i}", async e =>
        {
            if (i != 0 || e is not { Kind: ProgressEvent.Types.Kind.Started, Index: 2 } || joined.Task.IsCompleted) return;
            // The slow step runs: a coordinator joins, and four builds of the same steps arrive through it.
            joined.SetResult(await StartNodeAsync(EngineRoles.Coordinator, Seed(first)));
        })).ToList();
        var second = await joined.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var late = Enumerable.Range(0, 4).Select(i => RunAsync(second, graph, Context, $"join-b{i}")).ToList();
        var results = await Task.WhenAll(early.Concat(late));

        Assert.All(results, r => Assert.True(r.Success, r.Error));
        Assert.Single(results.Select(r => string.Join(",", r.FinalLayers.Select(l => l.Digest))).Distinct());
        AssertEachStepRanOnce(graph);
    }

    [Fact]
    public async Task A_coordinator_killed_mid_build_that_held_the_builds_entities_does_not_stop_the_build() =>
        await KillTheHolderMidStepAsync(sleepSeconds: 25);

    [Fact]
    public async Task A_step_that_completes_while_its_dead_coordinator_is_not_yet_removed_is_not_run_again() =>
        await KillTheHolderMidStepAsync(sleepSeconds: 4); // done ~4 s after the kill; the node is removed ~14 s after

    private async Task KillTheHolderMidStepAsync(int sleepSeconds)
    {
        var api = await StartNodeAsync(EngineRoles.Coordinator, seed: null);
        var doomed = await StartNodeAsync(EngineRoles.Coordinator, Seed(api), Abrupt);
        await StartWorkerNodeAsync(Seed(api));
        var (graph, buildId) = await PlaceOnAsync(doomed, api, sleepSeconds);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var killedAt = TimeSpan.Zero;

        var finished = await RunAsync(api, graph, Context, buildId, async e =>
        {
            _output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: {e.Kind} step {e.Index}");
            if (e is not { Kind: ProgressEvent.Types.Kind.Started, Index: 2 } || killedAt != TimeSpan.Zero) return;
            killedAt = stopwatch.Elapsed;
            await doomed.System.Terminate(); // no leave: the others find out from the failure detector
        });

        _output.WriteLine($"killed at {killedAt.TotalSeconds:0.0} s, build ended at {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(finished.Success, finished.Error);
        Assert.True(stopwatch.Elapsed - killedAt < TimeSpan.FromSeconds(sleepSeconds + 25), "the build took too long to resume");
        AssertEachStepRanOnce(graph);
    }

    [Fact]
    public async Task A_coordinator_leaving_mid_build_that_held_the_builds_entities_hands_the_build_over()
    {
        var api = await StartNodeAsync(EngineRoles.Coordinator, seed: null);
        var leaving = await StartNodeAsync(EngineRoles.Coordinator, Seed(api));
        await StartWorkerNodeAsync(Seed(api));
        var (graph, buildId) = await PlaceOnAsync(leaving, api, sleepSeconds: 8);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var leftAt = TimeSpan.Zero;

        var finished = await RunAsync(api, graph, Context, buildId, async e =>
        {
            _output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: {e.Kind} step {e.Index}");
            if (e is not { Kind: ProgressEvent.Types.Kind.Started, Index: 2 } || leftAt != TimeSpan.Zero) return;
            await leaving.LeaveAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            leftAt = stopwatch.Elapsed;
        });

        _output.WriteLine($"left at {leftAt.TotalSeconds:0.0} s, build ended at {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(finished.Success, finished.Error);
        Assert.True((await leaving.Ended).Requested);
        AssertEachStepRanOnce(graph);
    }

    /// <summary>
    /// Picks a salt and a build id whose slow step's entity and whose build entity both live on <paramref name="target"/>
    /// (shards go to the least loaded coordinator, so about every other one does): that node's loss is then the loss of
    /// every entity the build has in flight.
    /// </summary>
    private async Task<(BuildGraph Graph, string BuildId)> PlaceOnAsync(EngineNode target, EngineNode api, int sleepSeconds)
    {
        var extractor = new EngineMessageExtractor(64);
        for (var tries = 0; tries < 40; tries++)
        {
            var graph = Graph(Guid.NewGuid().ToString("N")[..8], sleepSeconds);
            var buildId = "placed-" + Guid.NewGuid().ToString("N")[..8];
            // Harmless messages that make both shards exist: a withdraw nobody made, a cancel of a build not started.
            api.Steps.Tell(new WithdrawStep { CacheKey = SlowKey(graph), BuildId = buildId });
            api.Builds.Tell(new CancelBuildCommand { BuildId = buildId, Reason = "placement probe" });
            var stepShard = extractor.ShardId(SlowKey(graph), null);
            var buildShard = extractor.ShardId(buildId, null);
            await Task.Delay(300);
            if (await HostsAsync(target, ActorNames.StepShard, stepShard) && await HostsAsync(target, ActorNames.BuildShard, buildShard))
                return (graph, buildId);
        }
        throw new InvalidOperationException("no salt put the build's entities on the target node in 40 tries");
    }

    private static async Task<bool> HostsAsync(EngineNode node, string typeName, string shardId)
    {
        var region = ClusterSharding.Get(node.System).ShardRegion(typeName);
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.Any(s => s.ShardId == shardId);
    }

    /// <summary>The worker's real runner, counting each execution per cache key (as the worker's own counter does).</summary>
    private sealed class CountingRunner(IStepRunner inner) : IStepRunner
    {
        private readonly ConcurrentDictionary<string, int> _runs = new();

        public int Count(string cacheKey) => _runs.GetValueOrDefault(cacheKey);

        public Task<BuildFarm.Protos.Cluster.StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
            IStepOutput output, CancellationToken cancellationToken)
        {
            _runs.AddOrUpdate(definition.CacheKey, 1, (_, n) => n + 1);
            return inner.RunAsync(definition, inputs, secrets, output, cancellationToken);
        }
    }
}
