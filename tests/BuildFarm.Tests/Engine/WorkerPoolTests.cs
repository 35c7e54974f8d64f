using Akka.Actor;
using Akka.TestKit;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

public class WorkerPoolTests : Akka.TestKit.Xunit2.TestKit
{
    public WorkerPoolTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
    }

    private static DispatchStep Dispatch(string key, int attempt = 1, params string[] avoid) =>
        new() { Definition = new StepDefinition { CacheKey = key, Run = new RunOp() }, Inputs = new StepInputs(), Attempt = attempt, AvoidWorkers = { avoid } };

    private static void Register(IActorRef pool, TestProbe worker, string id, int slots)
    {
        pool.Tell(new RegisterWorker { WorkerId = id, Slots = slots }, worker.Ref);
        worker.ExpectMsg<WorkerRegistered>();
    }

    private static WorkerStatus Status(string id, int slots, params string[] running) =>
        new() { WorkerId = id, Slots = slots, RunningKeys = { running } };

    [Fact]
    public void A_step_queued_in_a_farm_without_workers_fails_after_the_no_worker_timeout_naming_why()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10, noWorkerTimeout: TimeSpan.FromMilliseconds(500)));

        pool.Tell(Dispatch("k1"), TestActor);

        var failed = ExpectMsg<StepFailed>(TimeSpan.FromSeconds(5));
        Assert.Equal("k1", failed.CacheKey);
        Assert.True(failed.RetriesExhausted);
        Assert.Contains("no worker is in the farm", failed.Message);
    }

    [Fact]
    public void A_step_queued_while_a_worker_is_known_is_not_failed_for_want_of_workers()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10, noWorkerTimeout: TimeSpan.FromMilliseconds(300)));
        var worker = CreateTestProbe();
        Register(pool, worker, "w1", 1);
        pool.Tell(Dispatch("k1"), TestActor);
        worker.ExpectMsg<ExecuteStep>();

        pool.Tell(Dispatch("k2"), TestActor); // waits for the busy worker's slot

        ExpectNoMsg(TimeSpan.FromSeconds(1.5));
    }

    [Fact]
    public void Registration_is_acknowledged()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));

        pool.Tell(new RegisterWorker { WorkerId = "w1", Slots = 2 }, TestActor);

        Assert.Equal("w1", ExpectMsg<WorkerRegistered>().WorkerId);
    }

    [Fact]
    public void A_status_from_a_worker_the_pool_does_not_know_registers_it()
    {
        // A pool that restarted lost its workers; their next status brings them back.
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();

        pool.Tell(Status("w1", 1), worker.Ref);
        worker.ExpectMsg<WorkerRegistered>();
        pool.Tell(Dispatch("k1"), TestActor);

        Assert.Equal("k1", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
    }

    [Fact]
    public void A_step_waits_for_a_free_slot_and_goes_to_the_worker_that_freed_it()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        var entity = CreateTestProbe();
        Register(pool, worker, "w1", 1);

        pool.Tell(Dispatch("k1"), entity.Ref);
        pool.Tell(Dispatch("k2"), entity.Ref);

        Assert.Equal("k1", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "k1" }, worker.Ref);
        var second = worker.ExpectMsg<ExecuteStep>();
        Assert.Equal("k2", second.Definition.CacheKey);
        Assert.Equal(Akka.Serialization.Serialization.SerializedActorPath(entity.Ref), second.ReplyTo);
    }

    [Fact]
    public void A_step_refused_by_a_full_worker_goes_to_another_worker()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var big = CreateTestProbe();
        var small = CreateTestProbe();
        Register(pool, big, "big", 2);
        Register(pool, small, "small", 1);

        pool.Tell(Dispatch("k1"), TestActor);
        Assert.Equal("k1", big.ExpectMsg<ExecuteStep>().Definition.CacheKey); // more free slots
        // Another coordinator's pool filled it meanwhile.
        pool.Tell(new ExecutionRejected { CacheKey = "k1", Attempt = 1, WorkerId = "big", Reason = "all 2 slots are busy" }, big.Ref);

        Assert.Equal("k1", small.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        big.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_refused_step_keeps_its_place_at_the_front_until_the_workers_next_status()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        Register(pool, worker, "w1", 2);
        pool.Tell(Dispatch("k1"), TestActor);
        worker.ExpectMsg<ExecuteStep>();

        pool.Tell(new ExecutionRejected { CacheKey = "k1", Attempt = 1, WorkerId = "w1" }, worker.Ref);
        pool.Tell(Dispatch("k2"), TestActor);
        // Full until it says otherwise, although this pool counts two free slots.
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        pool.Tell(Status("w1", 2, "other-pools-step"), worker.Ref);
        Assert.Equal("k1", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // one slot was the other pool's
    }

    [Fact]
    public void A_step_a_worker_already_runs_is_sent_to_that_worker_even_when_it_is_full()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var running = CreateTestProbe();
        var idle = CreateTestProbe();
        Register(pool, running, "running", 1);
        Register(pool, idle, "idle", 4);
        // Another coordinator's pool sent it k1.
        pool.Tell(Status("running", 1, "k1"), running.Ref);

        pool.Tell(Dispatch("k1"), TestActor);

        Assert.Equal("k1", running.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        idle.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_draining_worker_gets_no_new_step()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var draining = CreateTestProbe();
        var other = CreateTestProbe();
        Register(pool, draining, "draining", 8);
        Register(pool, other, "other", 1);
        pool.Tell(new WorkerStatus { WorkerId = "draining", Slots = 8, Draining = true }, draining.Ref);

        pool.Tell(Dispatch("k1"), TestActor);

        Assert.Equal("k1", other.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        draining.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_step_goes_to_the_worker_that_holds_its_parent_layers()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var holder = CreateTestProbe();
        var idle = CreateTestProbe();
        Register(pool, holder, "holder", 2);
        Register(pool, idle, "idle", 8);
        pool.Tell(new WorkerStatus { WorkerId = "holder", Slots = 2, RunningKeys = { "x" }, Layers = { "sha256:base", "sha256:deps" } }, holder.Ref);
        var dispatch = Dispatch("k1");
        dispatch.Inputs.ParentLayers.Add(new LayerRef { DiffId = "sha256:base" });
        dispatch.Inputs.ParentLayers.Add(new LayerRef { DiffId = "sha256:deps" });

        pool.Tell(dispatch, TestActor);

        Assert.Equal("k1", holder.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        idle.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Listed_workers_carry_the_counters_of_their_last_status()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        Register(pool, worker, "w1", 3);
        pool.Tell(new WorkerStatus
        {
            WorkerId = "w1", Pid = 42, Address = "akka.tcp://buildfarm@10.0.0.2:8750", Slots = 3, RunningKeys = { "a", "b" },
            StepsExecuted = 17, LocalCacheBytes = 123456,
        }, worker.Ref);

        pool.Tell(new ListWorkersQuery());

        var listed = Assert.Single(ExpectMsg<WorkerList>().Workers);
        Assert.Equal(("w1", 42, 3, 2, 17L, 123456L), (listed.WorkerId, listed.Pid, listed.Slots, listed.Running, listed.StepsExecuted, listed.LocalCacheBytes));
    }

    [Fact]
    public void A_worker_that_dies_is_reported_to_the_entity_of_each_step_it_held_as_unavailable()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var dying = CreateTestProbe();
        var survivor = CreateTestProbe();
        var entity = CreateTestProbe();
        Register(pool, dying, "dying", 1);
        pool.Tell(Dispatch("k1"), entity.Ref);
        dying.ExpectMsg<ExecuteStep>();

        Register(pool, survivor, "survivor", 1);
        Watch(dying.Ref);
        dying.Ref.Tell(PoisonPill.Instance);
        ExpectTerminated(dying.Ref);

        // The entity decides about a second run; the pool does not queue it on its own.
        var failed = entity.ExpectMsg<StepFailed>();
        Assert.Equal((ErrorClass.Unavailable, 1), (failed.ErrorClass, failed.Attempt));
        survivor.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_re_dispatch_prefers_a_worker_other_than_the_one_that_lost_the_step()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var lost = CreateTestProbe();
        var other = CreateTestProbe();
        // The worker that lost it has more free slots, so only the preference sends the step elsewhere.
        Register(pool, lost, "lost", 4);
        Register(pool, other, "other", 1);

        pool.Tell(Dispatch("k1", attempt: 2, "lost"), TestActor);

        Assert.Equal(2, other.ExpectMsg<ExecuteStep>().Attempt);
        lost.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_full_queue_rejects_with_resource_exhausted_instead_of_waiting()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 1));
        var entity = CreateTestProbe();
        pool.Tell(Dispatch("k1"), entity.Ref);
        pool.Tell(Dispatch("k2"), entity.Ref);

        var rejected = entity.ExpectMsg<DispatchRejected>();
        Assert.Equal("k2", rejected.CacheKey);
        Assert.StartsWith("RESOURCE_EXHAUSTED", rejected.Reason);
    }
}
