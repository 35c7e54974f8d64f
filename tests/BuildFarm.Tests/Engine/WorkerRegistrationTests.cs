using Akka.Actor;
using Akka.Cluster;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Tests.Engine;

/// <summary>A one-node cluster with both roles: the worker registers with the node's pool until acknowledged, and
/// comes back to a pool that was stopped and started again.</summary>
public sealed class WorkerRegistrationTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly EngineTimings Fast = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(200) };

    public WorkerRegistrationTests() : base(TestKitConfig.With("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.cluster.roles = [coordinator, worker]
        """))
    {
        var cluster = Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == MemberStatus.Up, TimeSpan.FromSeconds(15));
    }

    /// <summary>Stands at the pool's path and hands everything to the test, so the test answers (or not) as the pool.</summary>
    private sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef to) => ReceiveAny(m => to.Forward(m));
    }

    [Fact]
    public void Registration_is_sent_again_until_the_pool_acknowledges_it()
    {
        var pool = Sys.ActorOf(Props.Create(() => new Forwarder(TestActor)), ActorNames.WorkerPool);
        Sys.ActorOf(WorkerActor.Props(new KeyGatedRunner(), "w1", 2, Fast));

        ExpectMsg<RegisterWorker>(TimeSpan.FromSeconds(10));
        var again = ExpectMsg<RegisterWorker>(TimeSpan.FromSeconds(10)); // unanswered: sent again
        // Acknowledged by the pool's path, so the statuses come the way the registrations came: one sent before the
        // acknowledgement arrived (a slow test thread) is then received before the first status, never after it.
        LastSender.Tell(new WorkerRegistered { WorkerId = again.WorkerId }, pool);

        FishForMessage<WorkerStatus>(_ => true, TimeSpan.FromSeconds(10));
        // Acknowledged: statuses from now on, never another registration.
        var later = ReceiveWhile(TimeSpan.FromSeconds(1.5), m => m);
        Assert.DoesNotContain(later, m => m is RegisterWorker);
        Assert.Contains(later, m => m is WorkerStatus);
    }

    [Fact]
    public void A_pool_that_starts_after_the_worker_gets_it()
    {
        Sys.ActorOf(WorkerActor.Props(new KeyGatedRunner(), "w1", 2, Fast));
        Thread.Sleep(600); // registrations go unanswered: no pool yet

        var pool = Sys.ActorOf(WorkerPool.Props(maxQueued: 10), ActorNames.WorkerPool);

        AwaitAssert(() =>
        {
            pool.Tell(new ListWorkersQuery());
            Assert.Equal("w1", Assert.Single(ExpectMsg<WorkerList>().Workers).WorkerId);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_pool_that_stops_and_starts_again_gets_the_worker_back()
    {
        var first = Sys.ActorOf(WorkerPool.Props(maxQueued: 10), ActorNames.WorkerPool);
        Sys.ActorOf(WorkerActor.Props(new KeyGatedRunner(), "w1", 2, Fast));
        AwaitAssert(() =>
        {
            first.Tell(new ListWorkersQuery());
            Assert.Single(ExpectMsg<WorkerList>().Workers);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));

        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
        var second = Sys.ActorOf(WorkerPool.Props(maxQueued: 10), ActorNames.WorkerPool);

        AwaitAssert(() =>
        {
            second.Tell(new ListWorkersQuery());
            Assert.Equal("w1", Assert.Single(ExpectMsg<WorkerList>().Workers).WorkerId);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
    }
}
