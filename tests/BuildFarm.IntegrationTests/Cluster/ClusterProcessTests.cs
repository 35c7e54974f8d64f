using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Cache;
using BuildFarm.IntegrationTests.EndToEnd;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// Issue #12's "must show": the farm as separate OS processes on loopback (coordinators, workers, clients), the real
/// S3 server as the shared store. Exactly-once is proven from outside, from the workers' own counters; where and when
/// a RUN ran comes from the step itself (<see cref="RunSpan"/>).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterProcessTests(S3ServerFixture s3, BusyboxFixture busybox, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(2);

    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly string _salt = Guid.NewGuid().ToString("N")[..10];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(5));

    public void Dispose()
    {
        _timeout.Dispose();
        _scratch.Dispose();
    }

    private CancellationToken Token => _timeout.Token;

    private Task<ClusterProcesses> StartAsync(int coordinators, int workers, int slots = 2) =>
        ClusterProcesses.StartAsync(s3, coordinators, workers, slots, Token);

    /// <summary>Four steps (ADD, RUN, COPY, RUN) that each take long enough for eight clients to ask at once.</summary>
    private string SharedDockerfile(double sleep) => _scratch.Context("shared",
        $"FROM scratch\nADD rootfs.tar /\nRUN echo one-{_salt} > /one && sleep {sleep}\nCOPY note.txt /note.txt\n" +
        $"RUN cat /note.txt /one > /both && sleep {sleep}\n",
        ("note.txt", $"note {_salt}\n"));

    private static void AssertExactlyOnce(IReadOnlyList<ClientBuildResult> results, long stepsExecuted, ClusterProcesses cluster)
    {
        var report = string.Join("\n\n", results.Select((r, i) => $"=== client {i}: {r}"));
        Assert.True(results.All(r => r.Succeeded), $"not every client succeeded:\n{report}\n{cluster.Transcripts()}");
        var distinct = results.SelectMany(r => r.Progress.Steps.Keys).ToHashSet();
        Assert.Equal(4, distinct.Count);
        Assert.True(stepsExecuted == distinct.Count,
            $"the workers executed {stepsExecuted} steps for {distinct.Count} distinct steps ({string.Join("; ", distinct)}):\n{report}");
        Assert.Single(results.Select(r => r.Digest).Distinct());
    }

    [Fact]
    public async Task Eight_clients_building_the_same_Dockerfile_execute_each_step_once_and_get_one_digest()
    {
        await using var cluster = await StartAsync(coordinators: 1, workers: 2);
        var context = SharedDockerfile(sleep: 1);

        var builds = Enumerable.Range(0, 8).Select(_ => cluster.StartBuild(cluster.Coordinators[0], context)).ToList();
        var results = await Task.WhenAll(builds.Select(b => b.FinishAsync(BuildTimeout)));

        AssertExactlyOnce(results, await cluster.StepsExecutedAsync(Token), cluster);
    }

    [Fact]
    public async Task Eight_clients_split_between_two_coordinators_execute_each_step_once_and_get_one_digest()
    {
        await using var cluster = await StartAsync(coordinators: 2, workers: 2);
        var context = SharedDockerfile(sleep: 1);

        var builds = Enumerable.Range(0, 8).Select(i => cluster.StartBuild(cluster.Coordinators[i % 2], context)).ToList();
        var results = await Task.WhenAll(builds.Select(b => b.FinishAsync(BuildTimeout)));

        AssertExactlyOnce(results, await cluster.StepsExecutedAsync(Token), cluster);
    }

    [Fact]
    public async Task Eight_clients_execute_each_step_once_while_a_second_coordinator_joins_in_the_middle()
    {
        await using var cluster = await StartAsync(coordinators: 1, workers: 2);
        var context = SharedDockerfile(sleep: 4);

        var early = Enumerable.Range(0, 4).Select(_ => cluster.StartBuild(cluster.Coordinators[0], context)).ToList();
        await early[0].WaitForStepAsync($"RUN echo one-{_salt}", TimeSpan.FromSeconds(60), Token);
        var second = await cluster.AddCoordinatorAsync(Token);
        Assert.True(early.Any(b => !b.Process.HasExited),
            "the first builds ended before the second coordinator was ready: the join did not happen in the middle of them");
        var late = Enumerable.Range(0, 4).Select(_ => cluster.StartBuild(second, context)).ToList();
        var results = await Task.WhenAll(early.Concat(late).Select(b => b.FinishAsync(BuildTimeout)));

        AssertExactlyOnce(results, await cluster.StepsExecutedAsync(Token), cluster);
    }

    [Fact]
    public async Task Three_independent_cpu_bound_stages_run_at_the_same_time_on_three_workers()
    {
        // One slot each: running the three stages together is only possible on three different workers.
        await using var cluster = await StartAsync(coordinators: 1, workers: 3, slots: 1);
        string Stage(int n) =>
            $"FROM base AS s{n}\nRUN {RunSpan.Command($"s{n}-{_salt}", "i=0; while [ $i -lt 4000000 ]; do i=$((i+1)); done; echo $i > /out")}\n";
        var context = _scratch.Context("cpu3",
            "FROM scratch AS base\nADD rootfs.tar /\n" + Stage(1) + Stage(2) + Stage(3) +
            "FROM base\nCOPY --from=s1 /out /out/1\nCOPY --from=s2 /out /out/2\nCOPY --from=s3 /out /out/3\n");

        var result = await cluster.BuildAsync(cluster.Coordinators[0], context, BuildTimeout);

        Assert.True(result.Succeeded, $"{result}\n{cluster.Transcripts()}");
        var spans = result.Spans;
        Assert.Equal(3, spans.Count);
        var workers = spans.Select(s => cluster.WorkerHolding(s.UpperDir)?.Name ?? $"no worker home holds {s.UpperDir}").ToList();
        Assert.True(workers.Distinct().Count() == 3, $"the stages ran on {string.Join(", ", workers)}: {string.Join("; ", spans)}");
        Assert.True(spans.Max(s => s.Start) < spans.Min(s => s.End), $"the three stages did not all run at one moment: {string.Join("; ", spans)}");
    }

    [Fact]
    public async Task A_new_worker_with_an_empty_home_builds_a_Dockerfile_another_worker_built_without_executing_a_step()
    {
        await using var cluster = await StartAsync(coordinators: 1, workers: 1);
        var context = _scratch.Context("earlier", $"FROM scratch\nADD rootfs.tar /\nRUN echo earlier-{_salt} > /earlier\n");
        var first = await cluster.BuildAsync(cluster.Coordinators[0], context, BuildTimeout);
        Assert.True(first.Succeeded, $"{first}\n{cluster.Transcripts()}");
        Assert.Equal(0, await cluster.StopAsync(cluster.Workers[0], TimeSpan.FromSeconds(30)));

        var fresh = await cluster.AddWorkerAsync(slots: 2, Token);
        var again = await cluster.BuildAsync(cluster.Coordinators[0], context, BuildTimeout);

        Assert.True(again.Succeeded, $"{again}\n{cluster.Transcripts()}");
        Assert.Empty(again.Progress.Executed);
        Assert.Equal(2, again.Progress.Cached.Count);
        Assert.Equal(first.Digest, again.Digest);
        Assert.Equal(0, (await cluster.LiveWorkerCountersAsync(Token)).Single(c => c.Pid == fresh.Pid).StepsExecuted);
    }

    [Fact]
    public async Task A_new_worker_gets_the_context_files_of_a_COPY_from_the_store()
    {
        await using var cluster = await StartAsync(coordinators: 1, workers: 1);
        const string base_ = "FROM scratch\nADD rootfs.tar /\n";
        var marker = $"from-the-store-{Guid.NewGuid():N}";
        var script = $"echo {marker}\n";
        var first = await cluster.BuildAsync(cluster.Coordinators[0], _scratch.Context("base", base_), BuildTimeout);
        Assert.True(first.Succeeded, $"{first}\n{cluster.Transcripts()}");
        Assert.Equal(0, await cluster.StopAsync(cluster.Workers[0], TimeSpan.FromSeconds(30)));

        var fresh = await cluster.AddWorkerAsync(slots: 2, Token);
        var result = await cluster.BuildAsync(cluster.Coordinators[0],
            _scratch.Context("copy", base_ + "COPY app/ /app/\nRUN sh /app/main.sh\n", ("app/main.sh", script)), BuildTimeout);

        Assert.True(result.Succeeded, $"{result}\n{cluster.Transcripts()}");
        Assert.Contains(marker, result.Stderr);
        Assert.Equal(2, result.Progress.Executed.Count); // the COPY and the RUN, on the only live worker
        Assert.Equal(2, (await cluster.LiveWorkerCountersAsync(Token)).Single(c => c.Pid == fresh.Pid).StepsExecuted);
        // The file went client → coordinator → store, and reached the worker by digest (no worker reads a coordinator's disk).
        var hex = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(script)));
        using (var store = ContentStoreFactory.Open(s3.Options(cluster.Namespace)))
            Assert.True(await store.Blobs.ExistsAsync(Digest.Parse("sha256:" + hex), Token), $"sha256:{hex} is not in the shared store");
        Assert.True(Directory.EnumerateFiles(fresh.Home, "*" + hex + "*", SearchOption.AllDirectories).Any(),
            $"the worker's home holds no blob sha256:{hex}: it did not fetch the context file from the store by digest");
    }

    [Fact]
    public async Task Kill_9_of_the_worker_running_a_step_finishes_the_build_on_another_worker_running_the_step_at_most_twice()
    {
        await using var cluster = await StartAsync(coordinators: 1, workers: 2);
        var context = _scratch.Context("victim", $"FROM scratch\nADD rootfs.tar /\nRUN echo attempt-{_salt} && sleep 6 && echo survived > /survived\n");
        var build = cluster.StartBuild(cluster.Coordinators[0], context);
        await build.WaitForStepAsync($"RUN echo attempt-{_salt}", TimeSpan.FromSeconds(60), Token);

        // The worker running it is the one with a busy slot (the ADD before it has finished: the RUN depends on it).
        var clock = Stopwatch.StartNew();
        IReadOnlyList<WorkerCounters> before;
        do before = await cluster.LiveWorkerCountersAsync(Token);
        while (before.Sum(c => c.Running) == 0 && clock.Elapsed < TimeSpan.FromSeconds(5));
        var busy = Assert.Single(before, c => c.Running > 0);
        var victim = cluster.Workers.Single(w => w.Pid == busy.Pid);
        await cluster.Kill9Async(victim);

        var result = await build.FinishAsync(BuildTimeout);

        Assert.True(result.Succeeded, $"{result}\n{cluster.Transcripts()}");
        var after = await cluster.LiveWorkerCountersAsync(Token);
        var reruns = after.Sum(a => a.StepsExecuted - before.Single(b => b.Pid == a.Pid).StepsExecuted);
        Assert.True(reruns == 1, $"after the kill the survivors executed {reruns} steps; the RUN ran {1 + reruns} times in all");
    }

    [Fact]
    public async Task Kill_9_of_a_coordinator_ends_its_builds_with_a_clear_error_and_spares_the_other_coordinators_builds()
    {
        await using var cluster = await StartAsync(coordinators: 2, workers: 2);
        var (survivor, doomed) = (cluster.Coordinators[0], cluster.Coordinators[1]);
        var orphanContext = _scratch.Context("orphan",
            $"FROM scratch\nADD rootfs.tar /\nRUN echo quick-{_salt} > /quick\nRUN echo slow-{_salt} && sleep 6 > /slow\n");
        var orphan = cluster.StartBuild(doomed, orphanContext);
        var spared = cluster.StartBuild(survivor, _scratch.Context("spared",
            $"FROM scratch\nADD rootfs.tar /\nRUN echo spared-{_salt} && sleep 6 > /spared\n"));
        await orphan.WaitForStepAsync($"RUN echo slow-{_salt}", TimeSpan.FromSeconds(60), Token);
        await spared.WaitForStepAsync($"RUN echo spared-{_salt}", TimeSpan.FromSeconds(60), Token);

        await cluster.Kill9Async(doomed);
        var killed = Stopwatch.StartNew();
        var orphanResult = await orphan.FinishAsync(TimeSpan.FromSeconds(60));
        var orphanEnded = killed.Elapsed;
        var sparedResult = await spared.FinishAsync(BuildTimeout);
        var sparedEnded = killed.Elapsed;
        output.WriteLine($"after the kill: the orphan ended in {orphanEnded.TotalSeconds:0.0} s, the spared build in {sparedEnded.TotalSeconds:0.0} s");

        Assert.True(orphanResult.ExitCode != 0 && orphanEnded < TimeSpan.FromSeconds(30),
            $"the build on the killed coordinator ended after {orphanEnded.TotalSeconds:0.0} s: {orphanResult}");
        Assert.Contains(doomed.Api, orphanResult.Stderr); // the error names the server that went away
        Assert.True(sparedResult.Succeeded, $"the build on the other coordinator: {sparedResult}\n{cluster.Transcripts()}");
        // Unaffected: its last step had under 6 s to go; the bound is the one a killed coordinator's own builds get.
        Assert.True(sparedEnded < TimeSpan.FromSeconds(30),
            $"the build on the other coordinator ended {sparedEnded.TotalSeconds:0.0} s after the kill: {sparedResult}\n{cluster.Transcripts()}");
        var again = await cluster.BuildAsync(survivor, orphanContext, BuildTimeout);
        output.WriteLine($"the resubmitted build took {again.Elapsed.TotalSeconds:0.0} s");
        Assert.True(again.Succeeded, $"{again}\n{cluster.Transcripts()}");
        Assert.Contains(again.Progress.Cached, s => s.Contains($"RUN echo quick-{_salt}"));
    }

    [Fact]
    public async Task A_worker_with_one_slot_never_runs_two_steps_at_once_for_two_coordinators()
    {
        await using var cluster = await StartAsync(coordinators: 2, workers: 1, slots: 1);
        string Dockerfile(string who) => "FROM scratch AS base\nADD rootfs.tar /\n" +
            string.Concat(Enumerable.Range(1, 3).Select(n => $"FROM base AS s{n}\nRUN {RunSpan.Command($"{who}{n}-{_salt}", $"sleep 1; echo {n} > /out")}\n")) +
            "FROM base\nCOPY --from=s1 /out /1\nCOPY --from=s2 /out /2\nCOPY --from=s3 /out /3\n";
        var builds = new[]
        {
            cluster.StartBuild(cluster.Coordinators[0], _scratch.Context("via-0", Dockerfile("a"))),
            cluster.StartBuild(cluster.Coordinators[1], _scratch.Context("via-1", Dockerfile("b"))),
        };
        var most = 0;
        while (builds.Any(b => !b.Process.HasExited) && !Token.IsCancellationRequested)
        {
            most = Math.Max(most, (await cluster.WorkerCountersAsync(cancellationToken: Token)).Sum(c => c.Running));
            await Task.Delay(100, Token);
        }
        var results = await Task.WhenAll(builds.Select(b => b.FinishAsync(BuildTimeout)));

        Assert.True(results.All(r => r.Succeeded), string.Join("\n", results.Select(r => r.ToString())) + cluster.Transcripts());
        var spans = results.SelectMany(r => r.Spans).OrderBy(s => s.Start).ToList();
        Assert.Equal(6, spans.Count);
        var overlapping = spans.Zip(spans.Skip(1)).Where(p => p.First.Overlaps(p.Second)).ToList();
        Assert.True(overlapping.Count == 0, $"the one-slot worker ran steps at once: {string.Join("; ", overlapping)}");
        Assert.InRange(most, 0, 1);
    }

    [Theory]
    [InlineData(FarmRole.Worker)]
    [InlineData(FarmRole.Coordinator)]
    public async Task A_node_pointed_at_a_seed_that_does_not_answer_exits_non_zero_naming_the_seed_within_the_join_timeout(FarmRole role)
    {
        await using var cluster = await StartAsync(coordinators: 0, workers: 0);
        var seed = $"127.0.0.1:{FreeTcpPort.Next()}"; // nothing listens there
        var node = role == FarmRole.Worker
            ? cluster.LaunchWorker(seed, "--join-timeout", "5")
            : cluster.LaunchCoordinator(seed, "--join-timeout", "5");

        var exit = await node.Process.WaitForExitAsync(TimeSpan.FromSeconds(5 + 10));

        Assert.True(exit is not null, $"the {role} still runs {node.Process.Started.Elapsed.TotalSeconds:0} s after start:\n{node.Process.Transcript}");
        Assert.NotEqual(0, exit);
        Assert.Contains(seed, node.Process.Stderr);
    }
}
