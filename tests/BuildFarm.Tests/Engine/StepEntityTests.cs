using Akka.Actor;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The step entity's protocol against a probe standing where the worker pool is, over a real local cache.</summary>
public sealed class StepEntityTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly EngineTimings Fast = new()
    {
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        HeartbeatTimeout = TimeSpan.FromMilliseconds(600),
        StepIdleTimeout = TimeSpan.FromMilliseconds(300),
        BuildReaskInterval = TimeSpan.FromMilliseconds(500),
    };

    private readonly string _root = Directory.CreateTempSubdirectory("bf-step-").FullName;
    private readonly SharedCache _cache;
    private readonly CacheStepRecordStore _records;

    public StepEntityTests() : base(TestKitConfig.With("akka.actor.provider = local"))
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

    private static string FreshKey() => "sha256:" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");

    private static StepDefinition Definition(string key) => new() { CacheKey = key, Run = new RunOp { Args = { "true" } } };

    /// <summary>A build's request: its own context folder and its own secret provider.</summary>
    private static RequestStep Request(string key, string build, bool noCache = false) => new()
    {
        Definition = Definition(key),
        Inputs = new StepInputs
        {
            BuildId = build,
            Context = new ContextRef { LocalDir = "/ctx/" + build },
            SecretProvider = "akka://test/user/secrets-" + build,
            Secrets = { new SecretRef { Id = "token", Target = "/run/secrets/token" } },
        },
        NoCache = noCache,
    };

    private IActorRef Entity(string key, IActorRef pool, EngineTimings? timings = null) =>
        Sys.ActorOf(StepEntity.Props(key, _records, pool, timings ?? EngineTimings.Default));

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
        var entity = Entity(key, pool.Ref);
        var first = CreateTestProbe();
        var second = CreateTestProbe();

        entity.Tell(Request(key, "b1"), first.Ref);
        pool.ExpectMsg<DispatchStep>(d => d.Definition.CacheKey == key);
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w", StartedUnixMs = 1_000, Attempt = 1 }, pool.Ref);
        entity.Tell(Request(key, "b2"), second.Ref);
        second.ExpectMsg<StepStarted>(); // a late joiner learns the step already runs
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        entity.Tell(new StepCompleted { Attempt = 1, Result = Result(key) }, ActorRefs.NoSender); // from the worker, through the region
        first.FishForMessage(m => m is StepCompleted { Cached: false });
        second.FishForMessage(m => m is StepCompleted { Cached: false });
    }

    [Fact]
    public async Task A_recorded_step_is_answered_from_the_index_without_a_dispatch()
    {
        var key = Key('b');
        await _records.SaveAsync(Definition(key), "", Result(key), CancellationToken.None);
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);

        entity.Tell(Request(key, "b1"), TestActor);

        var completed = ExpectMsg<StepCompleted>();
        Assert.True(completed.Cached);
        Assert.Equal(2_000, completed.Result.CompletedUnixMs);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void When_the_last_waiter_withdraws_the_running_step_is_canceled_and_a_failure_is_not_remembered()
    {
        var key = Key('d');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new WithdrawStep { CacheKey = key, BuildId = "b1" }, TestActor);
        pool.ExpectMsg<CancelExecution>(c => c.CacheKey == key);
        entity.Tell(new StepFailed { CacheKey = key, Message = "canceled", ErrorClass = ErrorClass.Canceled, Attempt = 1 }, pool.Ref);

        // The next request starts over instead of receiving the old failure.
        entity.Tell(Request(key, "b2", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>(d => d.Inputs.BuildId == "b2");
    }

    [Fact]
    public void Two_builds_with_different_contexts_and_secrets_the_run_uses_the_inputs_of_the_build_it_runs_for()
    {
        var key = Key('e');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        var a = CreateTestProbe();
        var b = CreateTestProbe();

        entity.Tell(Request(key, "A", noCache: true), a.Ref);
        entity.Tell(Request(key, "B", noCache: true), b.Ref);

        var dispatch = pool.ExpectMsg<DispatchStep>();
        Assert.Equal(("A", "/ctx/A", "akka://test/user/secrets-A"),
            (dispatch.Inputs.BuildId, dispatch.Inputs.Context.LocalDir, dispatch.Inputs.SecretProvider));
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // B joined the same run
    }

    [Fact]
    public void After_a_cancel_of_build_A_while_B_waits_the_re_run_uses_Bs_inputs()
    {
        var key = Key('f');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        var a = CreateTestProbe();
        var b = CreateTestProbe();
        entity.Tell(Request(key, "A", noCache: true), a.Ref);
        Assert.Equal("A", pool.ExpectMsg<DispatchStep>().Inputs.BuildId);
        entity.Tell(Request(key, "B", noCache: true), b.Ref);
        b.ExpectMsg<StepMissExplained>(); // a joiner hears why the run it joined missed

        entity.Tell(new WithdrawStep { CacheKey = key, BuildId = "A" }, a.Ref);
        pool.ExpectMsg<CancelExecution>();
        entity.Tell(new StepFailed { CacheKey = key, Message = "canceled", ErrorClass = ErrorClass.Canceled, Attempt = 1 }, pool.Ref);

        var again = pool.ExpectMsg<DispatchStep>();
        Assert.Equal(("B", "/ctx/B", "akka://test/user/secrets-B"),
            (again.Inputs.BuildId, again.Inputs.Context.LocalDir, again.Inputs.SecretProvider));
        b.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // B never heard of A's cancel
    }

    [Fact]
    public async Task No_cache_after_a_finished_run_uses_the_new_builds_inputs()
    {
        var key = Key('0');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "first"), TestActor);
        Assert.Equal("first", pool.ExpectMsg<DispatchStep>().Inputs.BuildId);
        entity.Tell(new StepCompleted { Attempt = 1, Result = Result(key) }, ActorRefs.NoSender); // from the worker, through the region
        FishForMessage(m => m is StepCompleted);
        Assert.NotNull(await _records.FindAsync(key, CancellationToken.None));

        entity.Tell(Request(key, "second", noCache: true), TestActor);

        var dispatch = pool.ExpectMsg<DispatchStep>();
        Assert.Equal(("second", "/ctx/second"), (dispatch.Inputs.BuildId, dispatch.Inputs.Context.LocalDir));
    }

    [Fact]
    public void The_entity_survives_a_step_that_runs_longer_than_the_idle_timeout()
    {
        var key = Key('1');
        var pool = CreateTestProbe();
        var clock = new ManualClock();
        var entity = Entity(key, pool.Ref, Fast with { Clock = clock });
        Watch(entity);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w", Attempt = 1 }, pool.Ref);

        // Three idle timeouts long (real time), kept alive by heartbeats only: one per heartbeat interval on the
        // entity's clock, which is 1.5 heartbeat timeouts in all.
        for (var i = 0; i < 9; i++)
        {
            Thread.Sleep(Fast.HeartbeatInterval);
            clock.Advance(Fast.HeartbeatInterval);
            entity.Tell(new StepHeartbeat { CacheKey = key, Worker = "w", Attempt = 1 }, pool.Ref);
        }
        entity.Tell(new StepCompleted { Attempt = 1, Result = Result(key) }, ActorRefs.NoSender); // from the worker, through the region

        FishForMessage(m => m is StepCompleted { Cached: false });
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(50)); // never re-dispatched
    }

    [Fact]
    public void An_idle_entity_with_nobody_waiting_asks_to_be_passivated()
    {
        var parent = CreateTestProbe();
        var pool = CreateTestProbe();
        var entity = parent.ChildActorOf(StepEntity.Props(Key('2'), _records, pool.Ref, Fast));

        parent.ExpectMsg<Akka.Cluster.Sharding.Passivate>(TimeSpan.FromSeconds(10));
        _ = entity;
    }

    [Fact]
    public void A_dead_worker_gets_the_step_dispatched_again_avoiding_it()
    {
        var key = Key('3');
        var pool = CreateTestProbe();
        var worker = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w1", Attempt = 1 }, worker.Ref);

        Sys.Stop(worker.Ref);

        var again = pool.ExpectMsg<DispatchStep>();
        Assert.Equal(2, again.Attempt);
        Assert.Equal(["w1"], again.AvoidWorkers);
        Assert.Equal("b1", again.Inputs.BuildId);
    }

    [Fact]
    public void A_silent_worker_gets_the_step_dispatched_again_then_a_clear_failure()
    {
        var key = Key('4');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w1", Attempt = 1 }, CreateTestProbe().Ref);

        var again = pool.ExpectMsg<DispatchStep>(TimeSpan.FromSeconds(10));
        Assert.Equal(2, again.Attempt);
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w2", Attempt = 2 }, CreateTestProbe().Ref);

        var failed = FishForMessage<StepFailed>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorClass.Unavailable, failed.ErrorClass);
        Assert.Contains("worker w2 sent no heartbeat", failed.Message);
        Assert.Contains("dispatched again once", failed.Message);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no third run
    }

    [Fact]
    public void An_unavailable_failure_is_retried_once_and_a_user_error_never()
    {
        var key = Key('5');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new StepFailed { CacheKey = key, Message = "store down", ErrorClass = ErrorClass.Unavailable, Attempt = 1 }, pool.Ref);
        Assert.Equal(2, pool.ExpectMsg<DispatchStep>().Attempt);
        entity.Tell(new StepFailed { CacheKey = key, Message = "exit code: 1", ErrorClass = ErrorClass.UserError, ExitCode = 1, Attempt = 2 }, pool.Ref);

        var failed = FishForMessage<StepFailed>(_ => true);
        Assert.Equal((ErrorClass.UserError, 1), (failed.ErrorClass, failed.ExitCode));
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_store_outage_that_spent_its_budget_fails_the_step_without_running_it_again()
    {
        var key = Key('5');
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new StepFailed
        {
            CacheKey = key, Message = "cache store S3 http://127.0.0.1:1 bucket b is unavailable", ErrorClass = ErrorClass.Unavailable,
            RetriesExhausted = true, Attempt = 1,
        }, pool.Ref);

        var failed = FishForMessage<StepFailed>(_ => true);
        Assert.Equal(ErrorClass.Unavailable, failed.ErrorClass);
        Assert.Contains("is unavailable", failed.Message);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no second run on the same dead store
    }

    [Fact]
    public void News_of_an_abandoned_attempt_is_ignored()
    {
        var key = Key('6');
        var pool = CreateTestProbe();
        var build = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "b1", noCache: true), build.Ref);
        pool.ExpectMsg<DispatchStep>();
        build.ExpectMsg<StepMissExplained>();
        entity.Tell(new StepFailed { CacheKey = key, Message = "worker left", ErrorClass = ErrorClass.Unavailable, Attempt = 1 }, pool.Ref);
        pool.ExpectMsg<DispatchStep>(d => d.Attempt == 2);

        entity.Tell(new StepCompleted { Attempt = 1, Result = Result(key) }, ActorRefs.NoSender); // from the worker, through the region
        build.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // a late result of attempt 1 is not the result of attempt 2
    }

    [Fact]
    public void A_build_asking_again_for_a_running_step_hears_it_is_alive_and_causes_no_second_run()
    {
        var key = Key('8');
        var pool = CreateTestProbe();
        var build = CreateTestProbe();
        var entity = Entity(key, pool.Ref);
        entity.Tell(Request(key, "b1", noCache: true), build.Ref);
        pool.ExpectMsg<DispatchStep>();
        entity.Tell(new StepStarted { CacheKey = key, Worker = "w1", Attempt = 1 }, pool.Ref);
        build.FishForMessage(m => m is StepStarted);

        entity.Tell(Request(key, "b1", noCache: true), build.Ref);

        Assert.Equal("w1", build.FishForMessage<StepHeartbeat>(_ => true).Worker);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        entity.Tell(new StepCompleted { Attempt = 1, Result = Result(key) }, ActorRefs.NoSender); // from the worker, through the region
        build.FishForMessage(m => m is StepCompleted);
        build.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // one answer, not one per request
    }

    [Fact]
    public void A_record_lookup_that_never_answers_does_not_hold_the_build_the_step_runs()
    {
        var key = Key('9');
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, new StoreThatNeverAnswers(), pool.Ref, Fast));

        entity.Tell(Request(key, "b1"), TestActor);

        Assert.Equal("b1", pool.ExpectMsg<DispatchStep>(TimeSpan.FromSeconds(10)).Inputs.BuildId);
    }

    [Fact]
    public async Task A_rebuilt_entity_joins_a_run_it_did_not_dispatch_instead_of_running_the_step_again()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var worker = CreateTestProbe();
        var build = CreateTestProbe();
        // The entity's clock stands still: the run stays as fresh as its heartbeat however long the record lookup takes.
        var entity = Entity(key, pool.Ref, Fast with { Clock = new ManualClock() });

        // The worker's news reaches the key's new entity through the region: a run dispatched by the lost one.
        entity.Tell(new StepHeartbeat { CacheKey = key, Worker = "w1", Attempt = 7_001 }, worker.Ref);
        entity.Tell(Request(key, "b1"), build.Ref);

        Assert.Equal("w1", build.FishForMessage<StepStarted>(_ => true).Worker);
        entity.Tell(new StepHeartbeat { CacheKey = key, Worker = "w1", Attempt = 7_001 }, worker.Ref);
        entity.Tell(new StepCompleted { Attempt = 7_001, Result = Result(key) }, worker.Ref);
        Assert.False(build.FishForMessage<StepCompleted>(_ => true).Cached);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // never dispatched
        Assert.NotNull(await _records.FindAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task A_result_of_a_run_nobody_here_dispatched_is_kept_and_answers_the_next_build()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);

        entity.Tell(new StepCompleted { Attempt = 9_001, Result = Result(key) }, CreateTestProbe().Ref);
        Thread.Sleep(Fast.StepIdleTimeout * 2); // kept past the idle timeout: nobody has asked yet
        entity.Tell(Request(key, "b1"), TestActor);

        Assert.Equal(2_000, ExpectMsg<StepCompleted>().Result.CompletedUnixMs);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.NotNull(await _records.FindAsync(key, CancellationToken.None)); // saved with the asking build's definition
    }

    [Fact]
    public void A_re_ask_gives_a_run_going_on_elsewhere_a_heartbeat_to_speak_up_before_dispatching()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var build = CreateTestProbe();
        // The grace is 1.5 heartbeat intervals: long enough that a slow test thread still speaks up within it.
        var timings = new EngineTimings { HeartbeatInterval = TimeSpan.FromSeconds(1) };
        var entity = Entity(key, pool.Ref, timings);

        entity.Tell(new RequestStep(Request(key, "b1")) { Reask = true }, build.Ref);
        pool.ExpectNoMsg(timings.HeartbeatInterval / 2);
        entity.Tell(new StepHeartbeat { CacheKey = key, Worker = "w9", Attempt = 5_003 }, CreateTestProbe().Ref);

        Assert.Equal("w9", build.FishForMessage<StepStarted>(_ => true).Worker);
        pool.ExpectNoMsg(timings.HeartbeatInterval * 2); // past the grace: no dispatch
    }

    [Fact]
    public void A_re_ask_with_no_run_anywhere_is_dispatched_after_one_heartbeat_interval()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);

        entity.Tell(new RequestStep(Request(key, "b1")) { Reask = true }, TestActor);

        Assert.Equal("b1", pool.ExpectMsg<DispatchStep>(TimeSpan.FromSeconds(10)).Inputs.BuildId);
    }

    [Fact]
    public void A_result_of_an_earlier_run_arriving_while_the_own_dispatch_waits_completes_the_step_and_cancels_the_own()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var build = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);
        entity.Tell(Request(key, "b1"), build.Ref);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new StepCompleted { Attempt = 3_001, Result = Result(key) }, CreateTestProbe().Ref);

        build.FishForMessage(m => m is StepCompleted);
        pool.ExpectMsg<CancelExecution>(c => c.CacheKey == key);
    }

    [Fact]
    public void A_hand_off_tells_the_waiters_to_ask_again_and_stops_the_entity()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var build = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);
        Watch(entity);
        entity.Tell(Request(key, "b1", noCache: true), build.Ref);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(StepEntity.HandOff.Instance);

        Assert.Equal(key, build.FishForMessage<StepHandedOff>(_ => true).CacheKey);
        ExpectTerminated(entity);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the run goes on; the next incarnation joins it
    }

    [Fact]
    public void Every_completion_is_acknowledged_to_the_worker_that_sent_it_even_a_stale_one()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var worker = CreateTestProbe();
        var entity = Entity(key, pool.Ref, Fast);
        entity.Tell(Request(key, "b1", noCache: true), TestActor);
        var attempt = pool.ExpectMsg<DispatchStep>().Attempt;

        entity.Tell(new StepCompleted { Attempt = attempt, Result = Result(key) }, worker.Ref);
        Assert.Equal((key, attempt), worker.ExpectMsg<StepCompletionReceived>() is var a ? (a.CacheKey, a.Attempt) : default);
        FishForMessage(m => m is StepCompleted);

        entity.Tell(new StepCompleted { Attempt = attempt, Result = Result(key) }, worker.Ref); // sent again: its ack was lost
        Assert.Equal(attempt, worker.ExpectMsg<StepCompletionReceived>().Attempt);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // the build heard the result once
    }

    [Fact]
    public void Attempts_of_a_new_incarnation_start_at_its_own_base()
    {
        var key = FreshKey();
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(key, _records, pool.Ref, Fast, attemptBase: 4_096));

        entity.Tell(Request(key, "b1", noCache: true), TestActor);

        Assert.Equal(4_097, pool.ExpectMsg<DispatchStep>().Attempt);
        var random = StepEntity.NewAttemptBase();
        Assert.True(random > 0 && random % 1024 == 0, $"{random}: room for 1023 attempts above it");
    }

    private sealed class StoreThatNeverAnswers : IStepRecordStore
    {
        public Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken) => new TaskCompletionSource<StepResult?>().Task;
        public Task SaveAsync(StepDefinition definition, string stepIdentity, StepResult result, CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<StepMissExplained> ExplainMissAsync(StepDefinition definition, string stepIdentity, DateTimeOffset dispatchedAt,
            CancellationToken cancellationToken) => new TaskCompletionSource<StepMissExplained>().Task;
    }
}
