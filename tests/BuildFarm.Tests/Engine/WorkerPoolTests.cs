using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

public class WorkerPoolTests : Akka.TestKit.Xunit2.TestKit
{
    public WorkerPoolTests() : base("akka.actor.provider = local")
    {
    }

    private static StepSpec Spec(string key) => new() { CacheKey = key, Kind = "RUN" };

    [Fact]
    public void A_step_waits_for_a_free_slot_and_goes_to_the_worker_that_freed_it()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        var entity = CreateTestProbe();
        pool.Tell(new RegisterWorker { WorkerId = "w1", Slots = 1 }, worker.Ref);

        pool.Tell(new DispatchStep { Spec = Spec("k1") }, entity.Ref);
        pool.Tell(new DispatchStep { Spec = Spec("k2") }, entity.Ref);

        Assert.Equal("k1", worker.ExpectMsg<ExecuteStep>().Spec.CacheKey);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "k1" }, worker.Ref);
        var second = worker.ExpectMsg<ExecuteStep>();
        Assert.Equal("k2", second.Spec.CacheKey);
        Assert.Equal(Akka.Serialization.Serialization.SerializedActorPath(entity.Ref), second.ReplyTo);
    }

    [Fact]
    public void Steps_of_a_worker_that_dies_are_dispatched_to_another_worker()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var dying = CreateTestProbe();
        var survivor = CreateTestProbe();
        var entity = CreateTestProbe();
        pool.Tell(new RegisterWorker { WorkerId = "dying", Slots = 1 }, dying.Ref);
        pool.Tell(new DispatchStep { Spec = Spec("k1") }, entity.Ref);
        dying.ExpectMsg<ExecuteStep>();

        pool.Tell(new RegisterWorker { WorkerId = "survivor", Slots = 1 }, survivor.Ref);
        Watch(dying.Ref);
        dying.Ref.Tell(PoisonPill.Instance);
        ExpectTerminated(dying.Ref);

        Assert.Equal("k1", survivor.ExpectMsg<ExecuteStep>().Spec.CacheKey);
    }

    [Fact]
    public void A_full_queue_rejects_with_resource_exhausted_instead_of_waiting()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 1));
        var entity = CreateTestProbe();
        pool.Tell(new DispatchStep { Spec = Spec("k1") }, entity.Ref);
        pool.Tell(new DispatchStep { Spec = Spec("k2") }, entity.Ref);

        var rejected = entity.ExpectMsg<DispatchRejected>();
        Assert.Equal("k2", rejected.CacheKey);
        Assert.StartsWith("RESOURCE_EXHAUSTED", rejected.Reason);
    }
}
