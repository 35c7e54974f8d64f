using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

public class WorkerPoolTests : Akka.TestKit.Xunit2.TestKit
{
    public WorkerPoolTests() : base("akka.actor.provider = local")
    {
    }

    private static DispatchStep Dispatch(string key, int attempt = 1, params string[] avoid) =>
        new() { Definition = new StepDefinition { CacheKey = key, Run = new RunOp() }, Inputs = new StepInputs(), Attempt = attempt, AvoidWorkers = { avoid } };

    [Fact]
    public void A_step_waits_for_a_free_slot_and_goes_to_the_worker_that_freed_it()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        var entity = CreateTestProbe();
        pool.Tell(new RegisterWorker { WorkerId = "w1", Slots = 1 }, worker.Ref);

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
    public void A_worker_that_dies_is_reported_to_the_entity_of_each_step_it_held_as_unavailable()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var dying = CreateTestProbe();
        var survivor = CreateTestProbe();
        var entity = CreateTestProbe();
        pool.Tell(new RegisterWorker { WorkerId = "dying", Slots = 1 }, dying.Ref);
        pool.Tell(Dispatch("k1"), entity.Ref);
        dying.ExpectMsg<ExecuteStep>();

        pool.Tell(new RegisterWorker { WorkerId = "survivor", Slots = 1 }, survivor.Ref);
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
        pool.Tell(new RegisterWorker { WorkerId = "lost", Slots = 4 }, lost.Ref);
        pool.Tell(new RegisterWorker { WorkerId = "other", Slots = 1 }, other.Ref);

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
