using Akka.Actor;
using Akka.TestKit;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The pool and a step's platform: a RUN goes where it can run, and fails at once, naming why, where it cannot.</summary>
public class WorkerPoolPlatformTests : Akka.TestKit.Xunit2.TestKit
{
    public WorkerPoolPlatformTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
    }

    private static DispatchStep Run(string key, string platform) =>
        new() { Definition = new StepDefinition { CacheKey = key, Platform = platform, Run = new RunOp() }, Inputs = new StepInputs(), Attempt = 1 };

    private static void Register(IActorRef pool, TestProbe worker, string id, params WorkerPlatform[] platforms)
    {
        pool.Tell(new RegisterWorker { WorkerId = id, Slots = 4, Platforms = { platforms } }, worker.Ref);
        worker.ExpectMsg<WorkerRegistered>();
    }

    private static WorkerPlatform Native(string p) => new() { Platform = p };
    private static WorkerPlatform Emulated(string p) => new() { Platform = p, Emulated = true, Emulator = "/usr/libexec/qemu-binfmt/x" };

    [Fact]
    public void An_arm64_run_goes_to_the_worker_that_emulates_arm64_not_to_the_idle_amd64_only_one()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var amd64Only = CreateTestProbe();
        var emulating = CreateTestProbe();
        Register(pool, amd64Only, "a-amd64-only", Native("linux/amd64"));
        Register(pool, emulating, "b-emulating", Native("linux/amd64"), Emulated("linux/arm64"));

        pool.Tell(Run("k-arm", "linux/arm64"), TestActor);

        Assert.Equal("k-arm", emulating.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        amd64Only.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_run_for_a_platform_no_worker_runs_fails_at_once_naming_the_workers_offers()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10));
        var worker = CreateTestProbe();
        Register(pool, worker, "w1", Native("linux/amd64"), Emulated("linux/arm64"));

        pool.Tell(Run("k-s390x", "linux/s390x"), TestActor);

        var failed = ExpectMsg<StepFailed>(TimeSpan.FromSeconds(3));
        Assert.True(failed.RetriesExhausted);
        Assert.Contains("no worker can run linux/s390x steps", failed.Message);
        Assert.Contains("w1: linux/amd64, linux/arm64 (emulated)", failed.Message);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }
}
