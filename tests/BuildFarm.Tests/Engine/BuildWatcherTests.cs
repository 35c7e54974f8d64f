using System.Threading.Channels;
using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The build watcher against a probe standing where the build region is.</summary>
public sealed class BuildWatcherTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly EngineTimings Fast = new() { BuildReaskInterval = TimeSpan.FromMilliseconds(400) };
    // For tests that are not about re-sends: a StartBuild is sent again when nobody accepted it within a fifth of the
    // interval, so a short one lets a slow test thread see re-sends it did not ask about.
    private static readonly EngineTimings Patient = new() { BuildReaskInterval = TimeSpan.FromMinutes(1) };

    public BuildWatcherTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
    }

    private static StartBuild Start(string id) => new() { BuildId = id, Graph = new BuildGraph { FinalNode = 0 } };

    [Fact]
    public void The_build_is_sent_again_resumed_when_the_entity_that_accepted_it_is_lost()
    {
        var builds = CreateTestProbe();
        var events = Channel.CreateUnbounded<object>();
        var watcher = Sys.ActorOf(BuildWatcher.Props(Start("w1"), builds.Ref, events.Writer, EngineTimings.Default));
        Assert.False(builds.ExpectMsg<StartBuild>().Resumed);
        var entity = CreateTestProbe();
        watcher.Tell(new BuildAccepted { BuildId = "w1" }, entity.Ref);

        Sys.Stop(entity.Ref); // its node was downed, or its shard moved

        var again = builds.ExpectMsg<StartBuild>();
        Assert.Equal(("w1", true), (again.BuildId, again.Resumed));
    }

    [Fact]
    public void The_build_is_sent_again_when_nobody_accepted_it()
    {
        var builds = CreateTestProbe();
        var events = Channel.CreateUnbounded<object>();
        Sys.ActorOf(BuildWatcher.Props(Start("w2"), builds.Ref, events.Writer, Fast));
        builds.ExpectMsg<StartBuild>();

        Assert.True(builds.ExpectMsg<StartBuild>(TimeSpan.FromSeconds(10)).Resumed);
    }

    [Fact]
    public void An_accepted_build_that_ends_is_not_sent_again_when_its_entity_stops()
    {
        var builds = CreateTestProbe();
        var events = Channel.CreateUnbounded<object>();
        var watcher = Sys.ActorOf(BuildWatcher.Props(Start("w3"), builds.Ref, events.Writer, Patient));
        builds.ExpectMsg<StartBuild>();
        var entity = CreateTestProbe();
        watcher.Tell(new BuildAccepted { BuildId = "w3" }, entity.Ref);

        watcher.Tell(new BuildFinished { BuildId = "w3", Success = true }, entity.Ref);
        Sys.Stop(entity.Ref); // passivated after the end

        builds.ExpectNoMsg(TimeSpan.FromSeconds(1));
        Assert.True(NextEvent(events.Reader, TimeSpan.FromSeconds(10)) is BuildFinished { Success: true });
    }

    [Fact]
    public void A_cancel_no_coordinator_confirms_still_ends_the_build_as_canceled()
    {
        var builds = CreateTestProbe();
        var events = Channel.CreateUnbounded<object>();
        var watcher = Sys.ActorOf(BuildWatcher.Props(Start("w4"), builds.Ref, events.Writer, Fast));
        builds.ExpectMsg<StartBuild>();
        watcher.Tell(new BuildAccepted { BuildId = "w4" }, CreateTestProbe().Ref);

        watcher.Tell(new BuildWatcher.Cancel("canceled"));

        // StartBuild may come again first: it is re-sent every 80 ms until the accept above is processed.
        Assert.Equal("w4", builds.FishForMessage<CancelBuildCommand>(_ => true).BuildId);
        var finished = AwaitFinished(events.Reader, TimeSpan.FromSeconds(10));
        Assert.True(finished.Canceled);
        Assert.Contains("no coordinator confirmed the cancel", finished.Error);
    }

    private static object NextEvent(ChannelReader<object> reader, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
    }

    private static BuildFinished AwaitFinished(ChannelReader<object> reader, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var message = reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
            if (message is BuildFinished finished) return finished;
        }
    }
}
