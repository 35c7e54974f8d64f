using System.Diagnostics;
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
/// Per-team quotas through the real engine: one node with both roles, sharded entities, the worker actor on runc.
/// In-process rather than separate host processes: the quota lives in the coordinator's worker pool, which is the
/// same actor either way, and 21 concurrent builds through 21 CLI processes would measure process start-up on this
/// 2-core machine more than scheduling.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TeamQuotaTests(BusyboxFixture busybox, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("bfq").FullName;
    private SharedCache _cache = null!;
    private EngineNode _engine = null!;
    private StepExecutorRunner _runner = null!;

    public async Task InitializeAsync()
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        _runner = new StepExecutorRunner(StepExecutor.Create(_cache.Blobs, new StepExecutorOptions(Path.Combine(_root, "w"))));
        var options = new EngineOptions { Quotas = new TeamQuotas { Limits = new Dictionary<string, int> { ["a"] = 2 } } };
        _engine = await EngineNode.StartAsync(options, new CacheStepRecordStore(_cache), CancellationToken.None);
        _engine.System.ActorOf(WorkerActor.Props(_runner, "w1", slots: 4), ActorNames.Worker);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _runner.DrainAsync(TimeSpan.FromSeconds(10));
        _cache.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string Key(string parent, string instruction) => new CacheKeyInputs
    {
        Platform = "linux/amd64",
        Parent = parent == "scratch" ? CacheKeyParent.Scratch : CacheKeyParent.Step(parent),
        Instruction = instruction,
    }.ComputeKey();

    /// <summary>scratch + ADD rootfs.tar (the same step for every build: it runs once) + one RUN of its own.</summary>
    private static BuildGraph Graph(string command)
    {
        var add = Key("scratch", "ADD rootfs.tar /");
        return new BuildGraph
        {
            FinalNode = 2,
            Nodes =
            {
                new GraphNode { Index = 0, IsBase = true, Parent = -1 },
                new GraphNode
                {
                    Index = 1, Parent = 0, DisplayName = "ADD", Location = "Dockerfile:2",
                    Definition = new StepDefinition
                    {
                        CacheKey = add, Add = new AddOp { Copy = new CopyOp { Sources = { "rootfs.tar" }, Destination = "/" }, Unpack = true },
                    },
                },
                new GraphNode
                {
                    Index = 2, Parent = 1, DisplayName = "RUN", Location = "Dockerfile:3",
                    Definition = new StepDefinition { CacheKey = Key(add, "RUN " + command), Run = new RunOp { Args = { command } } },
                },
            },
        };
    }

    private sealed record Outcome(string Team, BuildFinished Finished, TimeSpan At, ProgressEvent? Run);

    private async Task<Outcome> RunAsync(string team, string buildId, string command, Stopwatch clock, CancellationToken cancellationToken)
    {
        var start = new StartBuild
        {
            BuildId = buildId, Graph = Graph(command), Team = team,
            Context = new ContextRef { LocalDir = Path.GetDirectoryName(busybox.Rootfs.TarPath)! },
        };
        BuildFinished? finished = null;
        ProgressEvent? run = null;
        await foreach (var message in _engine.RunBuildAsync(start, new Dictionary<string, byte[]>(), cancellationToken))
        {
            if (message is BuildProgress { Event: { Kind: ProgressEvent.Types.Kind.Completed, Index: 2 } e }) run = e;
            if (message is BuildFinished f) finished = f;
        }
        Assert.NotNull(finished);
        return new Outcome(team, finished, clock.Elapsed, run);
    }

    [Fact]
    public async Task A_team_at_its_quota_does_not_starve_another_teams_build()
    {
        var salt = Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var clock = Stopwatch.StartNew();
        var burst = Enumerable.Range(0, 20)
            .Select(i => RunAsync("a", $"a-{salt}-{i}", $"echo a{i}-{salt} > /out && sleep 1", clock, timeout.Token)).ToList();
        await Task.Delay(300, timeout.Token); // B arrives after A's burst is queued
        var single = await RunAsync("b", $"b-{salt}", $"echo b-{salt} > /out && sleep 1", clock, timeout.Token);
        var all = await Task.WhenAll(burst);

        Assert.True(single.Finished.Success, single.Finished.Error);
        Assert.All(all, o => Assert.True(o.Finished.Success, o.Finished.Error + string.Join('\n', o.Finished.LogTail)));
        var halfDone = all.Select(o => o.At).Order().ElementAt(9);
        output.WriteLine($"b finished at {single.At.TotalSeconds:0.0} s; a's 10th build at {halfDone.TotalSeconds:0.0} s, its last at {all.Max(o => o.At).TotalSeconds:0.0} s");
        Assert.True(single.At < halfDone, $"B finished at {single.At}, A's 10th build at {halfDone}");
        // Never more than 2 of A's RUN steps at once, on a worker with 4 slots.
        var runs = all.Select(o => o.Run!).ToList();
        Assert.All(runs, Assert.NotNull);
        // The most running at once is reached at some step's start.
        var most = runs.Max(r => runs.Count(o => o.StartedUnixMs <= r.StartedUnixMs && r.StartedUnixMs < o.CompletedUnixMs));
        Assert.True(most <= 2, $"{most} of team a's steps ran at once with a quota of 2");
        Assert.True(most == 2, "the quota of 2 was never used in full: the test shows nothing");
    }
}
