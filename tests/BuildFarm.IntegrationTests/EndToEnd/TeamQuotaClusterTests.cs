using Xunit.Abstractions;
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
/// A team's quota across two coordinators: two coordinator nodes (each with its own worker pool) and a worker node in
/// one process, joined as a real cluster over remoting; the worker runs steps on runc. Builds of the team go to both
/// coordinators, so their step entities (sharded across both) dispatch through both pools.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TeamQuotaClusterTests(BusyboxFixture busybox, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("bfqc").FullName;
    private readonly List<EngineNode> _nodes = [];
    private SharedCache _cache = null!;
    private StepExecutorRunner _runner = null!;

    public Task InitializeAsync()
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        _runner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "w"))));
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
            Quotas = new TeamQuotas { Limits = new Dictionary<string, int> { ["a"] = 2 } },
        }, new CacheStepRecordStore(_cache), CancellationToken.None);
        _nodes.Add(node);
        return node;
    }

    private static string Seed(EngineNode node) => Akka.Cluster.Cluster.Get(node.System).SelfAddress.ToString();

    /// <summary>scratch + ADD rootfs.tar (shared by every build: it runs once) + one RUN of its own.</summary>
    private static BuildGraph Graph(string command) =>
        BusyboxChainGraph.Of(BusyboxChainGraph.AddKey, ("RUN", "RUN " + command, command));

    private async Task<(BuildFinished Finished, ProgressEvent? Run)> RunAsync(EngineNode coordinator, string buildId, string command,
        CancellationToken cancellationToken)
    {
        var start = new StartBuild
        {
            BuildId = buildId, Graph = Graph(command), Team = "a",
            Context = new ContextRef { LocalDir = Path.GetDirectoryName(busybox.Rootfs.TarPath)! },
        };
        BuildFinished? finished = null;
        ProgressEvent? run = null;
        await foreach (var message in coordinator.RunBuildAsync(start, new Dictionary<string, byte[]>(), cancellationToken))
        {
            if (message is BuildProgress { Event: { Kind: ProgressEvent.Types.Kind.Completed, Index: 2 } e }) run = e;
            if (message is BuildFinished f) finished = f;
        }
        Assert.NotNull(finished);
        return (finished, run);
    }

    [Fact]
    public async Task A_teams_quota_holds_across_two_coordinators()
    {
        var first = await StartNodeAsync(EngineRoles.Coordinator, seed: null);
        var second = await StartNodeAsync(EngineRoles.Coordinator, Seed(first));
        var workerNode = await StartNodeAsync(EngineRoles.Worker, Seed(first));
        // 6 slots: only the quota, not the worker, can keep the team at 2.
        workerNode.System.ActorOf(WorkerActor.Props(_runner, "w1", slots: 6), ActorNames.Worker);

        var salt = Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builds = Enumerable.Range(0, 10)
            .Select(i => RunAsync(i % 2 == 0 ? first : second, $"a-{salt}-{i}", $"echo a{i}-{salt} > /out && sleep 1", timeout.Token))
            .ToList();
        var all = await Task.WhenAll(builds);

        Assert.All(all, o => Assert.True(o.Finished.Success, o.Finished.Error + string.Join('\n', o.Finished.LogTail)));
        var runs = all.Select(o => o.Run!).ToList();
        Assert.All(runs, Assert.NotNull);
        var most = runs.Max(r => runs.Count(o => o.StartedUnixMs <= r.StartedUnixMs && r.StartedUnixMs < o.CompletedUnixMs));
        output.WriteLine($"most of team a's steps running at once: {most}; span {runs.Max(r => r.CompletedUnixMs) - runs.Min(r => r.StartedUnixMs)} ms");
        Assert.True(most <= 2, $"{most} of team a's steps ran at once across two coordinators with a quota of 2");
        Assert.True(most == 2, "the quota of 2 was never used in full: the test shows nothing");
    }

    [Fact]
    public async Task No_permit_leaks_when_the_coordinator_hosting_the_permits_leaves()
    {
        var oldest = await StartNodeAsync(EngineRoles.Coordinator, seed: null); // hosts the TeamPermits singleton
        var staying = await StartNodeAsync(EngineRoles.Coordinator, Seed(oldest));
        var workerNode = await StartNodeAsync(EngineRoles.Worker, Seed(oldest));
        workerNode.System.ActorOf(WorkerActor.Props(_runner, "w1", slots: 6), ActorNames.Worker);

        var salt = Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builds = Enumerable.Range(0, 10)
            .Select(i => RunAsync(staying, $"a-{salt}-{i}", $"echo a{i}-{salt} > /out && sleep 1", timeout.Token))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), timeout.Token);
        await oldest.LeaveAsync(TimeSpan.FromSeconds(5), timeout.Token);
        var all = await Task.WhenAll(builds);

        Assert.True((await oldest.Ended).Requested);
        Assert.All(all, o => Assert.True(o.Finished.Success, o.Finished.Error + string.Join('\n', o.Finished.LogTail)));
        var runs = all.Select(o => o.Run).OfType<ProgressEvent>().ToList();
        Assert.NotEmpty(runs);
        var most = runs.Max(r => runs.Count(o => o.StartedUnixMs <= r.StartedUnixMs && r.StartedUnixMs < o.CompletedUnixMs));
        var t0 = runs.Min(r => r.StartedUnixMs);
        foreach (var r in runs.OrderBy(r => r.StartedUnixMs)) output.WriteLine($"run {r.StartedUnixMs - t0}..{r.CompletedUnixMs - t0} ms");
        output.WriteLine($"most running at once: {most}; span {runs.Max(r => r.CompletedUnixMs) - runs.Min(r => r.StartedUnixMs)} ms");
        // Not asserted: while the singleton moves the team may briefly run one step more than its quota (measured 3 of 2
        // in some runs; see the engine README). A leaked permit would leave the team's builds waiting: the timeout.
    }

    [Fact]
    public async Task No_permit_leaks_when_the_coordinator_hosting_the_permits_dies()
    {
        // Its actor system stops without leaving: the others find out from the failure detector, the singleton fails over.
        var doomed = await StartNodeAsync(EngineRoles.Coordinator, seed: null, "akka.coordinated-shutdown.run-by-actor-system-terminate = off");
        var staying = await StartNodeAsync(EngineRoles.Coordinator, Seed(doomed));
        var workerNode = await StartNodeAsync(EngineRoles.Worker, Seed(doomed));
        workerNode.System.ActorOf(WorkerActor.Props(_runner, "w1", slots: 6), ActorNames.Worker);

        var salt = Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builds = Enumerable.Range(0, 10)
            .Select(i => RunAsync(staying, $"a-{salt}-{i}", $"echo a{i}-{salt} > /out && sleep 1", timeout.Token))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), timeout.Token);
        await doomed.System.Terminate();
        var all = await Task.WhenAll(builds);

        Assert.All(all, o => Assert.True(o.Finished.Success, o.Finished.Error + string.Join('\n', o.Finished.LogTail)));
        // A build whose step entity died with the node may learn the result from the step record (a cached event, no
        // run timestamps): only the runs a build saw complete are timed.
        var runs = all.Select(o => o.Run).OfType<ProgressEvent>().ToList();
        Assert.True(runs.Count >= 5, $"only {runs.Count} builds saw their step run");
        var most = runs.Max(r => runs.Count(o => o.StartedUnixMs <= r.StartedUnixMs && r.StartedUnixMs < o.CompletedUnixMs));
        var t0 = runs.Min(r => r.StartedUnixMs);
        foreach (var r in runs.OrderBy(r => r.StartedUnixMs)) output.WriteLine($"run {r.StartedUnixMs - t0}..{r.CompletedUnixMs - t0} ms");
        output.WriteLine($"{runs.Count} runs timed; most running at once: {most}; span {runs.Max(r => r.CompletedUnixMs) - runs.Min(r => r.StartedUnixMs)} ms");
        // Not asserted: while the singleton moves the team may briefly run one step more than its quota (measured 3 of 2
        // in some runs; see the engine README). A leaked permit would leave the team's builds waiting: the timeout.
    }
}
