using Akka.Actor;
using Akka.TestKit;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Tests.Engine;

/// <summary>The worker as the one authority on its slots, its status and counters, and its drain — against probes
/// standing for the pools of two coordinators and for step entities.</summary>
public sealed class WorkerAdmissionTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly EngineTimings Fast = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(200) };

    public WorkerAdmissionTests() : base(TestKitConfig.With("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        """))
    {
    }

    private static ExecuteStep Execute(string key, IActorRef replyTo, int attempt = 1) => new()
    {
        Definition = new StepDefinition { CacheKey = key, Run = new RunOp { Args = { "make" } } },
        Inputs = new StepInputs { BuildId = "b1" },
        ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(replyTo),
        Attempt = attempt,
    };

    /// <summary>The probe acknowledges the worker as a pool would, and from then on receives its statuses.</summary>
    private static WorkerStatus Acknowledge(IActorRef worker, TestProbe pool)
    {
        worker.Tell(new WorkerRegistered { WorkerId = "w1" }, pool.Ref);
        return pool.ExpectMsg<WorkerStatus>();
    }

    [Fact]
    public void A_step_beyond_the_free_slots_is_refused_whichever_pool_sends_it()
    {
        var runner = new KeyGatedRunner();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var poolA = CreateTestProbe();
        var poolB = CreateTestProbe();
        var entity = CreateTestProbe();

        worker.Tell(Execute("k1", entity.Ref), poolA.Ref);
        entity.ExpectMsg<StepStarted>();
        worker.Tell(Execute("k2", entity.Ref, attempt: 4), poolB.Ref);

        var rejected = poolB.ExpectMsg<ExecutionRejected>();
        Assert.Equal(("k2", 4, "w1"), (rejected.CacheKey, rejected.Attempt, rejected.WorkerId));
        AwaitCondition(() => runner.Started == 1);
        Assert.Equal(1, runner.MostAtOnce);
    }

    [Fact]
    public void A_key_already_running_attaches_without_a_slot_or_a_second_execution()
    {
        var runner = new KeyGatedRunner();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var poolA = CreateTestProbe();
        var poolB = CreateTestProbe();
        var entity = CreateTestProbe();
        worker.Tell(Execute("k1", entity.Ref, attempt: 1), poolA.Ref);
        entity.ExpectMsg<StepStarted>();

        worker.Tell(Execute("k1", entity.Ref, attempt: 2), poolB.Ref);

        Assert.Equal(2, entity.ExpectMsg<StepStarted>().Attempt);
        runner.Release("k1");
        Assert.Equal(2, entity.FishForMessage<StepCompleted>(_ => true).Attempt);
        // Both pools counted the key against this worker: both hear it freed.
        poolA.ExpectMsg<WorkerSlotFreed>();
        poolB.ExpectMsg<WorkerSlotFreed>();
        Assert.Equal(1, runner.Started);
    }

    [Fact]
    public void The_status_counts_executions_started_and_not_attaches()
    {
        var runner = new KeyGatedRunner();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 2, Fast));
        var pool = CreateTestProbe();
        var entity = CreateTestProbe();
        Assert.Equal(0, Acknowledge(worker, pool).StepsExecuted);

        worker.Tell(Execute("k1", entity.Ref), pool.Ref);
        var started = pool.FishForMessage<WorkerStatus>(s => s.RunningKeys.Count > 0); // a heartbeat status may come first
        worker.Tell(Execute("k1", entity.Ref, attempt: 2), pool.Ref);
        runner.Release("k1");
        pool.FishForMessage<WorkerSlotFreed>(_ => true);
        var finished = pool.FishForMessage<WorkerStatus>(_ => true);

        Assert.Equal((1L, "k1"), (started.StepsExecuted, Assert.Single(started.RunningKeys)));
        Assert.Equal((1L, 0), (finished.StepsExecuted, finished.RunningKeys.Count));
    }

    [Fact]
    public void The_status_reports_the_local_cache_of_the_runner_and_its_slots()
    {
        var runner = new KeyGatedRunner { Cache = new LocalCacheUsage(4096, ["sha256:top", "sha256:base"]) };
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 3, Fast));
        var pool = CreateTestProbe();

        var status = Acknowledge(worker, pool);

        Assert.Equal(("w1", 3, 4096L, Environment.ProcessId), (status.WorkerId, status.Slots, status.LocalCacheBytes, status.Pid));
        Assert.Equal(["sha256:top", "sha256:base"], status.Layers);
        // ...and again every heartbeat interval.
        pool.ExpectMsg<WorkerStatus>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_draining_worker_refuses_new_steps_and_says_so_in_its_status()
    {
        var worker = Sys.ActorOf(WorkerActor.Props(new KeyGatedRunner(), "w1", 4, Fast));
        var pool = CreateTestProbe();
        Acknowledge(worker, pool);

        worker.Tell(new DrainWorker { DrainMs = 5000 });
        ExpectMsg<WorkerDrained>(); // nothing ran
        Assert.True(pool.FishForMessage<WorkerStatus>(s => s.Draining).Draining);
        worker.Tell(Execute("k1", TestActor), pool.Ref);

        Assert.Equal("the worker is draining", pool.FishForMessage<ExecutionRejected>(_ => true).Reason);
    }

    [Fact]
    public void Drain_lets_running_steps_finish_and_hands_back_the_rest_as_unavailable()
    {
        var runner = new KeyGatedRunner();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 2, Fast));
        var pool = CreateTestProbe();
        var quick = CreateTestProbe();
        var slow = CreateTestProbe();
        worker.Tell(Execute("quick", quick.Ref), pool.Ref);
        worker.Tell(Execute("slow", slow.Ref, attempt: 3), pool.Ref);
        quick.ExpectMsg<StepStarted>();
        slow.ExpectMsg<StepStarted>();

        // The quick step must finish within the drain time for the test to mean anything: a time no pause of a
        // loaded machine reaches (the slow one waits all of it).
        worker.Tell(new DrainWorker { DrainMs = 3000 });
        runner.Release("quick");

        quick.FishForMessage<StepCompleted>(_ => true, TimeSpan.FromSeconds(10));
        var handedBack = slow.FishForMessage<StepFailed>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal((ErrorClass.Unavailable, 3), (handedBack.ErrorClass, handedBack.Attempt));
        var drained = ExpectMsg<WorkerDrained>(TimeSpan.FromSeconds(10));
        Assert.Equal((1, "slow"), (drained.Finished, Assert.Single(drained.HandedBack)));
        AwaitCondition(() => runner.Canceled.Contains("slow"));
    }
}
