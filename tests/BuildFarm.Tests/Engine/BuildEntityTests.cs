using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>The build entity against a probe standing where the step region is.</summary>
public sealed class BuildEntityTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly EngineTimings Fast = new() { BuildReaskInterval = TimeSpan.FromMilliseconds(400) };
    // For tests that are not about re-asks: none can come while they run, however slowly the machine runs them.
    private static readonly EngineTimings Patient = new() { BuildReaskInterval = TimeSpan.FromMinutes(1) };
    private static readonly string Key = "sha256:" + new string('7', 64);

    public BuildEntityTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
    }

    private static StartBuild OneStep(string buildId, string contextDir, string provider) => new()
    {
        BuildId = buildId,
        Context = new ContextRef { LocalDir = contextDir },
        SecretProvider = provider,
        Graph = new BuildGraph
        {
            FinalNode = 1,
            Nodes =
            {
                new GraphNode { Index = 0, IsBase = true, Parent = -1, BaseLayers = { new LayerRef { Digest = "sha256:" + new string('1', 64), DiffId = "sha256:" + new string('2', 64) } } },
                new GraphNode
                {
                    Index = 1, Parent = 0, DisplayName = "[a 1/1] RUN x", Location = "Dockerfile:2", StepIdentity = "Dockerfile#stage=a#1",
                    Definition = new StepDefinition { CacheKey = Key, Run = new RunOp { Args = { "x" } } },
                    Secrets = { new SecretRef { Id = "npm", Target = "/root/.npmrc", Required = true } },
                },
            },
        },
    };

    [Fact]
    public void A_step_request_carries_this_builds_context_secret_provider_and_parent_layers()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b1", steps.Ref, Fast));

        build.Tell(OneStep("b1", "/ctx/b1", "akka://test/user/secrets-b1"), TestActor);

        var request = steps.ExpectMsg<RequestStep>();
        Assert.Equal(Key, request.Definition.CacheKey);
        Assert.Equal(("b1", "/ctx/b1", "akka://test/user/secrets-b1", "Dockerfile#stage=a#1"),
            (request.Inputs.BuildId, request.Inputs.Context.LocalDir, request.Inputs.SecretProvider, request.Inputs.StepIdentity));
        Assert.Equal("npm", Assert.Single(request.Inputs.Secrets).Id);
        Assert.Equal("sha256:" + new string('1', 64), Assert.Single(request.Inputs.ParentLayers).Digest);
    }

    [Fact]
    public void A_step_it_has_heard_nothing_of_is_asked_for_again_and_the_build_still_ends()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b2", steps.Ref, Fast));
        build.Tell(OneStep("b2", "/ctx/b2", ""), TestActor);
        var first = steps.ExpectMsg<RequestStep>();

        // The step entity was lost: nothing comes back. The build asks again, with the same request marked as a re-ask.
        var again = steps.ExpectMsg<RequestStep>(TimeSpan.FromSeconds(10));
        Assert.True(again.Reask);
        Assert.Equal(new RequestStep(first) { Reask = true }, again);

        steps.Reply(new StepCompleted { Result = new StepResult { CacheKey = Key, EmptyLayer = true } });
        FishForMessage(m => m is BuildFinished { Success: true }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_completed_step_tells_the_watcher_its_layer_so_an_export_can_start_on_it()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b9", steps.Ref, Patient));
        build.Tell(OneStep("b9", "/ctx/b9", ""), TestActor);
        steps.ExpectMsg<RequestStep>();
        var layer = new LayerRef { Digest = "sha256:" + new string('5', 64), Size = 42, MediaType = "application/vnd.oci.image.layer.v1.tar+gzip" };

        steps.Reply(new StepCompleted { Result = new StepResult { CacheKey = Key, Layer = layer } });

        var completed = (BuildProgress)FishForMessage(m => m is BuildProgress { Event.Kind: Protos.V1.ProgressEvent.Types.Kind.Completed }, TimeSpan.FromSeconds(10));
        Assert.Equal(layer, completed.Layer);
        FishForMessage(m => m is BuildFinished { Success: true }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_step_without_a_layer_tells_none()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b10", steps.Ref, Patient));
        build.Tell(OneStep("b10", "/ctx/b10", ""), TestActor);
        steps.ExpectMsg<RequestStep>();

        steps.Reply(new StepCompleted { Result = new StepResult { CacheKey = Key, EmptyLayer = true, Layer = new LayerRef { Digest = "sha256:" + new string('6', 64) } } });

        var completed = (BuildProgress)FishForMessage(m => m is BuildProgress { Event.Kind: Protos.V1.ProgressEvent.Types.Kind.Completed }, TimeSpan.FromSeconds(10));
        Assert.Null(completed.Layer);
    }

    [Fact]
    public void Heartbeats_keep_a_running_step_from_being_asked_for_again()
    {
        var steps = CreateTestProbe();
        var clock = new ManualClock();
        var build = Sys.ActorOf(BuildEntity.Props("b3", steps.Ref, Fast with { Clock = clock }));
        build.Tell(OneStep("b3", "/ctx/b3", ""), TestActor);
        steps.ExpectMsg<RequestStep>();

        // Two re-ask intervals on the entity's clock, a heartbeat every quarter of one; real time passes too, so
        // the entity's periodic checks run in between.
        for (var i = 0; i < 8; i++)
        {
            Thread.Sleep(100);
            clock.Advance(TimeSpan.FromMilliseconds(100));
            build.Tell(new StepHeartbeat { CacheKey = Key, Worker = "w" }, steps.Ref);
        }

        steps.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_failed_step_ends_the_build_with_its_error_class()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b4", steps.Ref, Fast));
        build.Tell(OneStep("b4", "/ctx/b4", ""), TestActor);
        steps.ExpectMsg<RequestStep>();

        steps.Reply(new StepFailed { CacheKey = Key, Message = "exit code: 2", ExitCode = 2, ErrorClass = ErrorClass.UserError });

        var finished = FishForMessage<BuildFinished>(_ => true);
        Assert.Equal((false, ErrorClass.UserError, "Dockerfile:2"), (finished.Success, finished.ErrorClass, finished.ErrorLocation));
    }

    [Fact]
    public void A_watcher_that_goes_away_withdraws_the_builds_steps()
    {
        var steps = CreateTestProbe();
        var watcher = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b5", steps.Ref, Patient));
        build.Tell(OneStep("b5", "/ctx/b5", ""), watcher.Ref);
        steps.ExpectMsg<RequestStep>();

        Sys.Stop(watcher.Ref);

        var withdraw = steps.ExpectMsg<WithdrawStep>();
        Assert.Equal(("b5", Key), (withdraw.BuildId, withdraw.CacheKey));
    }

    [Fact]
    public void Every_start_is_answered_with_an_accept_so_the_watcher_can_watch_the_entity()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b6", steps.Ref, Patient));

        build.Tell(OneStep("b6", "/ctx/b6", ""), TestActor);
        Assert.Equal("b6", ExpectMsg<BuildAccepted>().BuildId);
        Assert.Equal(build, LastSender);
        steps.ExpectMsg<RequestStep>();

        // The watcher lost track and sends the build again: the same entity takes it, no step is asked for twice.
        build.Tell(new StartBuild(OneStep("b6", "/ctx/b6", "")) { Resumed = true }, TestActor);
        ExpectMsg<BuildAccepted>();
        steps.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
    }

    [Fact]
    public void A_resumed_build_asks_for_its_steps_as_re_asks()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b7", steps.Ref, Fast));

        build.Tell(new StartBuild(OneStep("b7", "/ctx/b7", "")) { Resumed = true }, TestActor);

        Assert.True(steps.ExpectMsg<RequestStep>().Reask);
    }

    [Fact]
    public void A_step_handed_over_to_another_node_is_asked_for_again_at_once()
    {
        var steps = CreateTestProbe();
        var build = Sys.ActorOf(BuildEntity.Props("b8", steps.Ref, Patient));
        build.Tell(OneStep("b8", "/ctx/b8", ""), TestActor);
        var first = steps.ExpectMsg<RequestStep>();

        build.Tell(new StepHandedOff { CacheKey = Key }, steps.Ref);

        var again = steps.ExpectMsg<RequestStep>(TimeSpan.FromSeconds(10)); // the only re-ask the test can see
        Assert.Equal((first.Definition, true), (again.Definition, again.Reask));
    }
}
