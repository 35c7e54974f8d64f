using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Planning;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// The engine as one node with both roles: real sharded entities, the worker actor on the real step executor
/// (runc, overlayfs) and a real local cache. Graphs are written by hand here; the CLI tests go through the planner.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EngineClusterTests : IAsyncLifetime
{
    private readonly BusyboxRootfs _busybox;
    private readonly string _root = Directory.CreateTempSubdirectory("bfe").FullName;
    private SharedCache _cache = null!;
    private EngineNode _engine = null!;
    private StepExecutorRunner _runner = null!;

    public EngineClusterTests(BusyboxFixture busybox) => _busybox = busybox.Rootfs;

    public async Task InitializeAsync()
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        _runner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "w"))));
        _engine = await EngineNode.StartAsync(new EngineOptions(), new CacheStepRecordStore(_cache), CancellationToken.None);
        _engine.System.ActorOf(WorkerActor.Props(_runner, "w1", slots: 4), ActorNames.Worker);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _runner.DrainAsync(TimeSpan.FromSeconds(10));
        _cache.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string Key(string parent, string instruction) => BusyboxChainGraph.Key(parent, instruction);

    private ContextRef Context => new() { LocalDir = Path.GetDirectoryName(_busybox.TarPath)! };

    /// <summary>scratch + ADD rootfs.tar; two independent stages each RUN for a second; the last COPYs from both.</summary>
    private BuildGraph TwoStageGraph(string salt)
    {
        var add = Key("scratch", "ADD rootfs.tar /");
        var runA = Key(add, $"RUN echo A-{salt} > /a.txt && echo stage-a-{salt} && sleep 2");
        var runB = Key(add, $"RUN echo B-{salt} > /b.txt && echo stage-b-{salt} && sleep 2");
        var copyA = Key(add, $"COPY --from=a /a.txt /out/ {runA}");
        var copyB = Key(copyA, $"COPY --from=b /b.txt /out/ {runB}");
        GraphNode Step(int index, int parent, string key, Action<StepDefinition> fill, params StageInput[] inputs)
        {
            var spec = new StepDefinition { CacheKey = key };
            fill(spec);
            var node = new GraphNode { Index = index, Parent = parent, Definition = spec, DisplayName = $"step {index}", Location = $"Dockerfile:{index}" };
            node.Inputs.AddRange(inputs);
            return node;
        }
        return new BuildGraph
        {
            FinalNode = 5,
            Nodes =
            {
                new GraphNode { Index = 0, IsBase = true, Parent = -1 },
                Step(1, 0, add, s => s.Add = new AddOp { Copy = new CopyOp { Sources = { "rootfs.tar" }, Destination = "/" }, Unpack = true }),
                Step(2, 1, runA, s => s.Run = new RunOp { Args = { $"echo A-{salt} > /a.txt && echo stage-a-{salt} && sleep 2" } }),
                Step(3, 1, runB, s => s.Run = new RunOp { Args = { $"echo B-{salt} > /b.txt && echo stage-b-{salt} && sleep 2" } }),
                Step(4, 1, copyA, s => s.Copy = new CopyOp { Sources = { "/a.txt" }, Destination = "/out/", From = "a" }, new StageInput { Name = "a", Node = 2 }),
                Step(5, 4, copyB, s => s.Copy = new CopyOp { Sources = { "/b.txt" }, Destination = "/out/", From = "b" }, new StageInput { Name = "b", Node = 3 }),
            },
        };
    }

    private async Task<(BuildFinished Finished, List<ProgressEvent> Events)> RunAsync(BuildGraph graph, string buildId)
    {
        var events = new List<ProgressEvent>();
        BuildFinished? finished = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await foreach (var message in _engine.RunBuildAsync(new StartBuild { BuildId = buildId, Graph = graph, Context = Context }, new Dictionary<string, byte[]>(), timeout.Token))
        {
            if (message is BuildProgress p) events.Add(p.Event);
            if (message is BuildFinished f) finished = f;
        }
        Assert.NotNull(finished);
        return (finished, events);
    }

    [Fact]
    public async Task Independent_stages_run_at_the_same_time_and_a_rebuild_is_all_cached()
    {
        var graph = TwoStageGraph(Guid.NewGuid().ToString("N")[..8]);
        var (first, events) = await RunAsync(graph, "b1");
        Assert.True(first.Success, first.Error + string.Join('\n', first.LogTail));

        var a = events.Single(e => e.Kind == ProgressEvent.Types.Kind.Completed && e.Index == 2);
        var b = events.Single(e => e.Kind == ProgressEvent.Types.Kind.Completed && e.Index == 3);
        Assert.True(a.StartedUnixMs < b.CompletedUnixMs && b.StartedUnixMs < a.CompletedUnixMs,
            $"stage a ran {a.StartedUnixMs}..{a.CompletedUnixMs}, stage b {b.StartedUnixMs}..{b.CompletedUnixMs}: no overlap");
        Assert.Contains(events, e => e.Kind == ProgressEvent.Types.Kind.Log && e.Log.ToStringUtf8().StartsWith("stage-a-"));
        Assert.Equal(3, first.FinalLayers.Count); // rootfs + two COPY layers; the RUN layers stay in their stages

        var (second, again) = await RunAsync(graph, "b2");
        Assert.True(second.Success, second.Error);
        Assert.DoesNotContain(again, e => e.Kind is ProgressEvent.Types.Kind.Started or ProgressEvent.Types.Kind.Completed);
        Assert.Equal(5, again.Count(e => e.Kind == ProgressEvent.Types.Kind.Cached));
        Assert.Equal(first.FinalLayers, second.FinalLayers);
    }

    [Fact]
    public async Task Two_builds_asking_for_the_same_steps_at_once_share_one_execution()
    {
        var graph = TwoStageGraph(Guid.NewGuid().ToString("N")[..8]);
        var one = RunAsync(graph, "dedupe-1");
        var two = RunAsync(graph, "dedupe-2");
        var results = await Task.WhenAll(one, two);
        Assert.All(results, r => Assert.True(r.Finished.Success, r.Finished.Error));
        var outcomes = results.Select(r => r.Finished.Outcomes.Single(o => o.Index == 2)).ToList();
        // One run: the same result (same worker timestamps), and nobody got it from a cache record.
        Assert.Equal(outcomes[0].Result, outcomes[1].Result);
        Assert.Equal(results[0].Finished.FinalLayers, results[1].Finished.FinalLayers);
    }

    [Fact]
    public async Task A_failing_step_reports_its_location_exit_code_and_output()
    {
        var add = Key("scratch", "ADD rootfs.tar /");
        var fail = Key(add, "RUN echo about to fail; exit 7 " + Guid.NewGuid());
        var graph = TwoStageGraph("f");
        graph.Nodes.RemoveAt(5);
        graph.Nodes.RemoveAt(4);
        graph.Nodes.RemoveAt(3);
        graph.Nodes[2].Definition = new StepDefinition { CacheKey = fail, Run = new RunOp { Args = { "echo about to fail; exit 7" } } };
        graph.Nodes[2].DisplayName = "[stage-0 2/2] RUN exit 7";
        graph.Nodes[2].Location = "Dockerfile:9";
        graph.FinalNode = 2;

        var (finished, _) = await RunAsync(graph, "fails");

        Assert.False(finished.Success);
        Assert.Equal(7, finished.ExitCode);
        Assert.Equal("Dockerfile:9", finished.ErrorLocation);
        Assert.Contains("exit code: 7", finished.Error);
        Assert.Contains("about to fail", finished.LogTail);
    }

    [Fact]
    public async Task A_worker_on_another_node_runs_the_steps_with_protobuf_messages_on_the_wire()
    {
        // A second cluster: a coordinator-only node and a worker-only node joined to it over TCP on loopback.
        await using var coordinator = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var seed = Akka.Cluster.Cluster.Get(coordinator.System).SelfAddress.ToString();
        await using var workerNode = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var remoteRunner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "w2"))));
        workerNode.System.ActorOf(WorkerActor.Props(remoteRunner, "remote-worker", slots: 2), ActorNames.Worker);

        var graph = TwoStageGraph(Guid.NewGuid().ToString("N")[..8]);
        var events = new List<ProgressEvent>();
        BuildFinished? finished = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await foreach (var message in coordinator.RunBuildAsync(new StartBuild { BuildId = "remote", Graph = graph, Context = Context }, new Dictionary<string, byte[]>(), timeout.Token))
        {
            if (message is BuildProgress p) events.Add(p.Event);
            if (message is BuildFinished f) finished = f;
        }

        Assert.NotNull(finished);
        Assert.True(finished.Success, finished.Error);
        // Every executed step ran on the other node (the coordinator node has no worker at all).
        var executed = finished.Outcomes.Where(o => o.Result is { } r && !o.Cached).ToList();
        Assert.Equal(5, executed.Count);
        Assert.All(executed, o => Assert.Equal("remote-worker", o.Result.Worker));
        Assert.Contains(events, e => e.Kind == ProgressEvent.Types.Kind.Log && e.Log.ToStringUtf8().StartsWith("stage-b-"));
        await remoteRunner.DrainAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_step_whose_worker_node_dies_is_dispatched_again_on_another_worker_node()
    {
        await using var coordinator = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var seed = Akka.Cluster.Cluster.Get(coordinator.System).SelfAddress.ToString();
        var dying = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var dyingRunner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "wa"))));
        dying.System.ActorOf(WorkerActor.Props(dyingRunner, "dying", slots: 1), ActorNames.Worker);

        var add = Key("scratch", "ADD rootfs.tar /");
        var salt = Guid.NewGuid().ToString("N")[..8];
        var run = Key(add, "RUN sleep 15 " + salt);
        var graph = new BuildGraph
        {
            FinalNode = 2,
            Nodes =
            {
                new GraphNode { Index = 0, IsBase = true, Parent = -1 },
                new GraphNode
                {
                    Index = 1, Parent = 0, DisplayName = "ADD", Location = "Dockerfile:2",
                    Definition = new StepDefinition { CacheKey = add, Add = new AddOp { Copy = new CopyOp { Sources = { "rootfs.tar" }, Destination = "/" }, Unpack = true } },
                },
                new GraphNode
                {
                    Index = 2, Parent = 1, DisplayName = "RUN", Location = "Dockerfile:3",
                    Definition = new StepDefinition { CacheKey = run, Run = new RunOp { Args = { $"sleep 15 && echo {salt} > /done" } } },
                },
            },
        };

        EngineNode? survivor = null;
        StepExecutorRunner? survivorRunner = null;
        BuildFinished? finished = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await foreach (var message in coordinator.RunBuildAsync(new StartBuild { BuildId = "lost-worker", Graph = graph, Context = Context },
                               new Dictionary<string, byte[]>(), timeout.Token))
            {
                if (message is BuildProgress { Event: { Kind: ProgressEvent.Types.Kind.Started, Index: 2 } } && survivor is null)
                {
                    // The RUN runs on the only worker: bring up another node, then take the first one away mid-step.
                    survivor = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
                        new CacheStepRecordStore(_cache), CancellationToken.None);
                    survivorRunner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "wb"))));
                    survivor.System.ActorOf(WorkerActor.Props(survivorRunner, "survivor", slots: 1), ActorNames.Worker);
                    await dying.DisposeAsync();
                }
                if (message is BuildFinished f) finished = f;
            }

            Assert.NotNull(finished);
            Assert.True(finished.Success, finished.Error);
            Assert.Equal("survivor", finished.Outcomes.Single(o => o.Index == 2).Result.Worker);
        }
        finally
        {
            await dying.DisposeAsync(); // idempotent: it may have gone already
            await dyingRunner.DrainAsync(TimeSpan.FromSeconds(10));
            if (survivor is not null) await survivor.DisposeAsync();
            if (survivorRunner is not null) await survivorRunner.DrainAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>scratch + ADD rootfs.tar, then two RUNs in a row, each a little work marked with the build's salt.</summary>
    private static BuildGraph ChainGraph(string add, string salt) => BusyboxChainGraph.Of(add,
        ("RUN one", $"RUN echo one-{salt} > /one && sleep 0.5", $"echo one-{salt} > /one && sleep 0.5"),
        ("RUN two", $"RUN echo two-{salt} > /two && sleep 0.5", $"echo two-{salt} > /two && sleep 0.5"));

    private async Task<BuildFinished> RunOnAsync(EngineNode node, BuildGraph graph, string buildId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        BuildFinished? finished = null;
        await foreach (var message in node.RunBuildAsync(new StartBuild { BuildId = buildId, Graph = graph, Context = Context },
                           new Dictionary<string, byte[]>(), timeout.Token))
            if (message is BuildFinished f) finished = f;
        Assert.NotNull(finished);
        return finished;
    }

    [Fact]
    public async Task A_worker_with_one_slot_never_runs_two_steps_at_once_with_two_coordinators()
    {
        await using var first = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var seed = Akka.Cluster.Cluster.Get(first.System).SelfAddress.ToString();
        await using var second = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        await using var workerNode = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var real = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "one-slot"))));
        var runner = new ConcurrencyRecordingRunner(real);
        workerNode.System.ActorOf(WorkerActor.Props(runner, "one-slot", slots: 1), ActorNames.Worker);
        foreach (var coordinator in new[] { first, second }) // both pools know the worker before anything is dispatched
            await WaitUntilAsync(async () => (await coordinator.ListWorkersAsync(CancellationToken.None)).Count == 1);

        // Four builds, two through each coordinator; the step entities (and so the pools that dispatch) spread over both.
        var add = Key("scratch", "ADD rootfs.tar / " + Guid.NewGuid().ToString("N")[..8]);
        var builds = Enumerable.Range(0, 4)
            .Select(i => RunOnAsync(i % 2 == 0 ? first : second, ChainGraph(add, $"{i}-{Guid.NewGuid():N}"), $"one-slot-{i}"))
            .ToList();
        var finished = await Task.WhenAll(builds);

        Assert.All(finished, f => Assert.True(f.Success, f.Error));
        Assert.Equal(1, runner.MostAtOnce);
        // Exactly once, counted by the worker itself: one ADD shared by all four, two RUNs each.
        Assert.Equal(9, runner.Runs);
        foreach (var coordinator in new[] { first, second })
            await WaitUntilAsync(async () => Assert.Single(await coordinator.ListWorkersAsync(CancellationToken.None)) is { StepsExecuted: 9, Running: 0 });
        await real.DrainAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_worker_node_that_leaves_hands_back_its_running_step_and_another_worker_finishes_it()
    {
        await using var coordinator = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var seed = Akka.Cluster.Cluster.Get(coordinator.System).SelfAddress.ToString();
        var leaving = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var leavingRunner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "leaving"))));
        leaving.System.ActorOf(WorkerActor.Props(leavingRunner, "leaving", slots: 1), ActorNames.Worker);

        var add = Key("scratch", "ADD rootfs.tar /");
        var salt = Guid.NewGuid().ToString("N")[..8];
        var graph = ChainGraph(add, salt);
        graph.Nodes[2].Definition.Run.Args[0] = $"sleep 15 && echo {salt} > /done";
        graph.FinalNode = 2;
        graph.Nodes.RemoveAt(3);

        EngineNode? survivor = null;
        StepExecutorRunner? survivorRunner = null;
        BuildFinished? finished = null;
        var leaveTook = TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await foreach (var message in coordinator.RunBuildAsync(new StartBuild { BuildId = "leaving-worker", Graph = graph, Context = Context },
                               new Dictionary<string, byte[]>(), timeout.Token))
            {
                if (message is BuildProgress { Event: { Kind: ProgressEvent.Types.Kind.Started, Index: 2 } } && survivor is null)
                {
                    survivor = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
                        new CacheStepRecordStore(_cache), CancellationToken.None);
                    survivorRunner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "survivor"))));
                    survivor.System.ActorOf(WorkerActor.Props(survivorRunner, "survivor", slots: 1), ActorNames.Worker);
                    // The RUN sleeps 15 s: a drain of 1 s cancels it and hands it back instead of waiting.
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    await leaving.LeaveAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
                    leaveTook = clock.Elapsed;
                }
                if (message is BuildFinished f) finished = f;
            }

            Assert.NotNull(finished);
            Assert.True(finished.Success, finished.Error);
            Assert.Equal("survivor", finished.Outcomes.Single(o => o.Index == 2).Result.Worker);
            Assert.InRange(leaveTook, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(12));
            Assert.True((await leaving.Ended).Requested);
        }
        finally
        {
            await leaving.DisposeAsync();
            await leavingRunner.DrainAsync(TimeSpan.FromSeconds(10));
            if (survivor is not null) await survivor.DisposeAsync();
            if (survivorRunner is not null) await survivorRunner.DrainAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 20 s");
            await Task.Delay(100);
        }
    }
}
