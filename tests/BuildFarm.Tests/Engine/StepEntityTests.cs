using Akka.Actor;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The step entity's protocol against a probe standing where the worker pool is, over a real local cache.</summary>
public sealed class StepEntityTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-step-").FullName;
    private readonly SharedCache _cache;
    private readonly CacheStepRecordStore _records;

    public StepEntityTests() : base("akka.actor.provider = local")
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = _root });
        _records = new CacheStepRecordStore(_cache);
    }

    void IDisposable.Dispose()
    {
        _cache.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static string Key(char c) => "sha256:" + new string(c, 64);

    private static RequestStep Request(string key, string build, bool noCache = false) =>
        new() { Spec = new StepSpec { CacheKey = key, Kind = "RUN", Args = { "true" } }, BuildId = build, NoCache = noCache };

    private static StepResult Result(string key) => new()
    {
        CacheKey = key,
        EmptyLayer = true,
        StartedUnixMs = 1_000,
        CompletedUnixMs = 2_000,
    };

    [Fact]
    public void Two_builds_asking_while_the_step_runs_get_one_dispatch_and_both_get_the_result()
    {
        var key = Key('a');
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, _records, pool.Ref));
        var first = CreateTestProbe();
        var second = CreateTestProbe();

        entity.Tell(Request(key, "b1"), first.Ref);
        pool.ExpectMsg<DispatchStep>(d => d.Spec.CacheKey == key);
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w", StartedUnixMs = 1_000 }, pool.Ref);
        entity.Tell(Request(key, "b2"), second.Ref);
        second.ExpectMsg<StepStarted>(); // a late joiner learns the step already runs
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        entity.Tell(new StepCompleted { Result = Result(key) }, pool.Ref);
        first.FishForMessage(m => m is StepCompleted { Cached: false });
        second.ExpectMsg<StepCompleted>(c => !c.Cached);
    }

    [Fact]
    public async Task A_recorded_step_is_answered_from_the_index_without_a_dispatch()
    {
        var key = Key('b');
        await _records.SaveAsync(new StepSpec { CacheKey = key }, Result(key), CancellationToken.None);
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, _records, pool.Ref));

        entity.Tell(Request(key, "b1"), TestActor);

        var completed = ExpectMsg<StepCompleted>();
        Assert.True(completed.Cached);
        Assert.Equal(2_000, completed.Result.CompletedUnixMs);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task No_cache_runs_the_step_again_even_when_a_record_exists()
    {
        var key = Key('c');
        await _records.SaveAsync(new StepSpec { CacheKey = key }, Result(key), CancellationToken.None);
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, _records, pool.Ref));

        entity.Tell(Request(key, "b1", noCache: true), TestActor);

        pool.ExpectMsg<DispatchStep>();
    }

    [Fact]
    public void When_the_last_waiter_withdraws_the_running_step_is_canceled_and_a_failure_is_not_remembered()
    {
        var key = Key('d');
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, _records, pool.Ref));
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new WithdrawStep { CacheKey = key, BuildId = "b1" }, TestActor);
        pool.ExpectMsg<CancelExecution>(c => c.CacheKey == key);
        entity.Tell(new StepFailed { CacheKey = key, Message = "canceled" }, pool.Ref);

        // The next request starts over instead of receiving the old failure.
        entity.Tell(Request(key, "b2", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();
    }
}
