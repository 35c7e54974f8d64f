using System.Diagnostics;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;

namespace BuildFarm.Tests.Engine;

/// <summary>How an engine node ends: it gives up joining within its timeout, and a downed node's actor system stops.</summary>
public sealed class EngineNodeLifecycleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-life-").FullName;
    private readonly SharedCache _cache;

    public EngineNodeLifecycleTests() => _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = _root });

    public void Dispose()
    {
        _cache.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_node_whose_seed_never_answers_gives_up_within_the_join_timeout_naming_the_seed()
    {
        const string seed = "akka.tcp://buildfarm@127.0.0.1:1"; // nothing listens on port 1
        var stopwatch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<EngineJoinException>(() => EngineNode.StartAsync(
            new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed], JoinTimeout = TimeSpan.FromSeconds(2) },
            new CacheStepRecordStore(_cache), CancellationToken.None));

        Assert.Contains(seed, error.Message);
        Assert.Contains("within 2 s", error.Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"gave up after {stopwatch.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_downed_node_ends_its_actor_system_and_says_it_was_not_asked_to()
    {
        await using var first = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Coordinator] },
            new CacheStepRecordStore(_cache), CancellationToken.None);
        var seed = Akka.Cluster.Cluster.Get(first.System).SelfAddress.ToString();
        await using var second = await EngineNode.StartAsync(new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [seed] },
            new CacheStepRecordStore(_cache), CancellationToken.None);

        Akka.Cluster.Cluster.Get(first.System).Down(Akka.Cluster.Cluster.Get(second.System).SelfAddress);

        var end = await second.Ended.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(end.Requested);
        Assert.Contains("removed", end.Reason);
        Assert.True(second.System.WhenTerminated.IsCompleted);
    }
}
