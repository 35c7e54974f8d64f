using Akka.Actor;
using Akka.TestKit;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The cluster-wide permits singleton on its own (a cluster provider that never joins: no members to ask).</summary>
public class TeamPermitsTests : Akka.TestKit.Xunit2.TestKit
{
    public TeamPermitsTests() : base(TestKitConfig.With("akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.port = 0\nakka.remote.dot-netty.tcp.hostname = 127.0.0.1"))
    {
    }

    private IActorRef Permits(int limit) =>
        Sys.ActorOf(TeamPermits.Props(new TeamQuotas { Limits = new Dictionary<string, int> { ["a"] = limit } }));

    private static StepPermitAsked Ask(string key, string team = "a") => new() { Permit = new StepPermit { Team = team, CacheKey = key } };
    private static StepPermitReturned Return(string key, string team = "a") => new() { Permit = new StepPermit { Team = team, CacheKey = key } };

    [Fact]
    public void Permits_beyond_the_limit_wait_for_one_to_be_returned_whichever_pool_asked()
    {
        var permits = Permits(2);
        var (pool1, pool2) = (CreateTestProbe(), CreateTestProbe());
        permits.Tell(Ask("k1"), pool1.Ref);
        permits.Tell(Ask("k2"), pool2.Ref);
        permits.Tell(Ask("k3"), pool1.Ref);
        Assert.Equal("k1", pool1.ExpectMsg<StepPermitGranted>().Permit.CacheKey);
        Assert.Equal("k2", pool2.ExpectMsg<StepPermitGranted>().Permit.CacheKey);
        pool1.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        permits.Tell(Return("k2"), pool2.Ref);

        Assert.Equal("k3", pool1.ExpectMsg<StepPermitGranted>().Permit.CacheKey);
    }

    [Fact]
    public void A_pool_that_dies_frees_its_permits()
    {
        var permits = Permits(1);
        var (doomed, waiting) = (CreateTestProbe(), CreateTestProbe());
        permits.Tell(Ask("k1"), doomed.Ref);
        doomed.ExpectMsg<StepPermitGranted>();
        permits.Tell(Ask("k2"), waiting.Ref);
        waiting.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Sys.Stop(doomed.Ref);

        Assert.Equal("k2", waiting.ExpectMsg<StepPermitGranted>(TimeSpan.FromSeconds(5)).Permit.CacheKey);
    }

    [Fact]
    public void A_new_singleton_adopts_the_permits_pools_announce_and_grants_none_beyond_them()
    {
        var permits = Permits(2);
        var (holder, asker) = (CreateTestProbe(), CreateTestProbe());
        var held = new StepPermitsHeld { Held = { Ask("k1").Permit, Ask("k2").Permit } };
        permits.Tell(held, holder.Ref);
        permits.Tell(Ask("k3"), asker.Ref);
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        permits.Tell(Return("k1"), holder.Ref);

        Assert.Equal("k3", asker.ExpectMsg<StepPermitGranted>().Permit.CacheKey);
    }

    [Fact]
    public void Teams_share_no_permits()
    {
        var permits = Permits(1);
        var pool = CreateTestProbe();
        permits.Tell(Ask("a1"), pool.Ref);
        permits.Tell(Ask("a2"), pool.Ref);
        permits.Tell(Ask("c1", "c"), pool.Ref); // c has no quota here: granted at once

        Assert.Equal(["a1", "c1"], new[] { pool.ExpectMsg<StepPermitGranted>(), pool.ExpectMsg<StepPermitGranted>() }.Select(g => g.Permit.CacheKey).Order());
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
