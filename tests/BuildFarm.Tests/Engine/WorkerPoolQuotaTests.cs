using Akka.Actor;
using Akka.TestKit;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

public class WorkerPoolQuotaTests : Akka.TestKit.Xunit2.TestKit
{
    public WorkerPoolQuotaTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
    }

    private static DispatchStep Dispatch(string key, string team) =>
        new() { Definition = new StepDefinition { CacheKey = key, Run = new RunOp() }, Inputs = new StepInputs { Team = team }, Attempt = 1 };

    private static TeamQuotas Quotas(int? fallback = null, params (string Team, int Limit)[] limits) =>
        new() { Limits = limits.ToDictionary(l => l.Team, l => l.Limit), Default = fallback };

    private TestProbe Worker(IActorRef pool, string id, int slots)
    {
        var worker = CreateTestProbe();
        pool.Tell(new RegisterWorker { WorkerId = id, Slots = slots }, worker.Ref);
        worker.ExpectMsg<WorkerRegistered>();
        return worker;
    }

    [Fact]
    public void A_team_at_its_quota_waits_while_another_team_goes_ahead()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(null, ("a", 2))));
        var worker = Worker(pool, "w1", 8);

        foreach (var i in Enumerable.Range(0, 5)) pool.Tell(Dispatch($"a{i}", "a"), TestActor);
        pool.Tell(Dispatch("b0", "b"), TestActor);

        var sent = new[] { worker.ExpectMsg<ExecuteStep>(), worker.ExpectMsg<ExecuteStep>(), worker.ExpectMsg<ExecuteStep>() };
        Assert.Equal(["a0", "a1", "b0"], sent.Select(e => e.Definition.CacheKey).Order());
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_finished_step_lets_its_team_run_the_next_one()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(null, ("a", 1))));
        var worker = Worker(pool, "w1", 4);
        pool.Tell(Dispatch("a0", "a"), TestActor);
        pool.Tell(Dispatch("a1", "a"), TestActor);
        Assert.Equal("a0", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "a0" }, worker.Ref);

        Assert.Equal("a1", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
    }

    [Fact]
    public void Without_quotas_teams_running_as_many_steps_take_turns()
    {
        // One slot, a burst queued first: a later team's step still goes next, not after the whole burst.
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100));
        var worker = Worker(pool, "w1", 1);
        foreach (var i in Enumerable.Range(0, 4)) pool.Tell(Dispatch($"a{i}", "a"), TestActor);
        Assert.Equal("a0", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        pool.Tell(Dispatch("b0", "b"), TestActor);
        pool.Tell(Dispatch("b1", "b"), TestActor);

        var order = new List<string>();
        var running = "a0";
        for (var i = 0; i < 4; i++)
        {
            pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = running }, worker.Ref);
            running = worker.ExpectMsg<ExecuteStep>().Definition.CacheKey;
            order.Add(running);
        }

        Assert.Equal(["b0", "a1", "b1", "a2"], order);
    }

    [Fact]
    public void The_team_running_fewer_steps_gets_the_next_free_slot()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100));
        var worker = Worker(pool, "w1", 3);
        foreach (var i in Enumerable.Range(0, 6)) pool.Tell(Dispatch($"a{i}", "a"), TestActor);
        foreach (var _ in Enumerable.Range(0, 3)) worker.ExpectMsg<ExecuteStep>();
        pool.Tell(Dispatch("b0", "b"), TestActor);
        pool.Tell(Dispatch("b1", "b"), TestActor);

        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "a0" }, worker.Ref);
        Assert.Equal("b0", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey); // a runs 2, b none
        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "a1" }, worker.Ref);
        Assert.Equal("a3", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey); // 1 each: b was served last
    }

    [Fact]
    public void A_team_not_listed_gets_the_default_quota_and_local_builds_are_unlimited()
    {
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(fallback: 1)));
        var worker = Worker(pool, "w1", 8);
        pool.Tell(Dispatch("c0", "c"), TestActor);
        pool.Tell(Dispatch("c1", "c"), TestActor);
        foreach (var i in Enumerable.Range(0, 3)) pool.Tell(Dispatch($"l{i}", ""), TestActor);

        var sent = Enumerable.Range(0, 4).Select(_ => worker.ExpectMsg<ExecuteStep>().Definition.CacheKey).Order().ToList();

        Assert.Equal(["c0", "l0", "l1", "l2"], sent);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void TeamQuotas_name_the_limit_of_each_team()
    {
        var quotas = Quotas(3, ("a", 2), ("", 5));
        Assert.Equal(2, quotas.LimitOf("a"));
        Assert.Equal(3, quotas.LimitOf("z"));
        Assert.Equal(5, quotas.LimitOf(""));
        Assert.Null(TeamQuotas.Unlimited.LimitOf("a"));
        Assert.Null(Quotas(3).LimitOf(""));
    }

    [Fact]
    public void With_cluster_permits_a_step_of_a_team_with_a_quota_waits_for_its_permit_and_returns_it_when_freed()
    {
        var permits = CreateTestProbe();
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(null, ("a", 2)), permits: permits.Ref));
        var worker = Worker(pool, "w1", 8);
        foreach (var i in Enumerable.Range(0, 3)) pool.Tell(Dispatch($"a{i}", "a"), TestActor);
        pool.Tell(Dispatch("b0", "b"), TestActor);

        // No more asks than the quota; b (no quota) never asks and runs at once.
        var asked = new[] { permits.ExpectMsg<StepPermitAsked>(), permits.ExpectMsg<StepPermitAsked>() }.Select(a => a.Permit.CacheKey).ToList();
        Assert.Equal(["a0", "a1"], asked);
        Assert.Equal("b0", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        permits.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        pool.Tell(new StepPermitGranted { Permit = new StepPermit { Team = "a", CacheKey = "a1" } }, permits.Ref);
        Assert.Equal("a1", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);

        pool.Tell(new WorkerSlotFreed { WorkerId = "w1", CacheKey = "a1" }, worker.Ref);
        Assert.Equal("a1", permits.ExpectMsg<StepPermitReturned>().Permit.CacheKey);
        Assert.Equal("a2", permits.ExpectMsg<StepPermitAsked>().Permit.CacheKey);
    }

    [Fact]
    public void A_pool_tells_a_new_permits_singleton_what_it_holds_and_still_asks_for()
    {
        var permits = CreateTestProbe();
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(null, ("a", 2)), permits: permits.Ref));
        Worker(pool, "w1", 8);
        pool.Tell(Dispatch("a0", "a"), TestActor);
        pool.Tell(Dispatch("a1", "a"), TestActor);
        permits.ExpectMsg<StepPermitAsked>();
        permits.ExpectMsg<StepPermitAsked>();
        pool.Tell(new StepPermitGranted { Permit = new StepPermit { Team = "a", CacheKey = "a0" } }, permits.Ref);

        pool.Tell(new StepPermitsWanted(), permits.Ref);

        var held = permits.ExpectMsg<StepPermitsHeld>();
        Assert.Equal(["a0"], held.Held.Select(p => p.CacheKey));
        Assert.Equal(["a1"], held.Asked.Select(p => p.CacheKey));
    }

    [Fact]
    public void A_step_a_worker_already_runs_is_attached_at_once_and_its_permit_adopted()
    {
        // Its entity moved here from a coordinator that left: the run goes on, so it counts against the quota now.
        var permits = CreateTestProbe();
        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 100, Quotas(null, ("a", 1)), permits: permits.Ref));
        var worker = Worker(pool, "w1", 8);
        pool.Tell(new WorkerStatus { WorkerId = "w1", Slots = 8, RunningKeys = { "a0" } }, worker.Ref);

        pool.Tell(Dispatch("a0", "a"), TestActor);

        Assert.Equal("a0", worker.ExpectMsg<ExecuteStep>().Definition.CacheKey);
        var adopted = permits.FishForMessage(m => m is StepPermitsHeld) as StepPermitsHeld;
        Assert.Equal(["a0"], adopted!.Held.Select(p => p.CacheKey));
    }
}
