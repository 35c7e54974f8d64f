using System.Text;
using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Platforms;

namespace BuildFarm.Tests.Engine;

/// <summary>The worker actor with a step runner that waits to be released, against probes for the pool and the entity.</summary>
public sealed class WorkerActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly EngineTimings Fast = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(100) };

    public WorkerActorTests() : base(TestKitConfig.With("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        """))
    {
    }

    private static ExecuteStep Execute(string key, IActorRef replyTo, int attempt, StepInputs? inputs = null) => new()
    {
        Definition = new StepDefinition { CacheKey = key, Run = new RunOp { Args = { "make" } } },
        Inputs = inputs ?? new StepInputs { BuildId = "b1" },
        ReplyTo = Akka.Serialization.Serialization.SerializedActorPath(replyTo),
        Attempt = attempt,
    };

    [Fact]
    public void A_running_step_sends_heartbeats_until_it_completes()
    {
        var runner = new GatedRunner();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var entity = CreateTestProbe();

        worker.Tell(Execute("k1", entity.Ref, attempt: 3), TestActor);

        Assert.Equal(3, entity.ExpectMsg<StepStarted>().Attempt);
        Assert.Equal(3, entity.ExpectMsg<StepHeartbeat>().Attempt);
        entity.ExpectMsg<StepHeartbeat>();
        runner.Release.SetResult();
        var completed = entity.FishForMessage<StepCompleted>(_ => true);
        Assert.Equal((3, "w1", "k1"), (completed.Attempt, completed.Result.Worker, completed.Result.CacheKey));
        ExpectMsg<WorkerSlotFreed>();
    }

    [Fact]
    public void A_completion_is_sent_again_until_a_step_entity_acknowledges_it()
    {
        var runner = new GatedRunner();
        runner.Release.SetResult();
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var entity = CreateTestProbe();
        worker.Tell(Execute("k4", entity.Ref, attempt: 5), TestActor);
        entity.FishForMessage<StepCompleted>(_ => true);

        // The first one went to a coordinator that died: it comes again with the heartbeats until someone answers.
        Assert.Equal(5, entity.FishForMessage<StepCompleted>(_ => true, TimeSpan.FromSeconds(10)).Attempt);
        worker.Tell(new StepCompletionReceived { CacheKey = "k4", Attempt = 5 }, entity.Ref);
        // The worker answers an Identify after the acknowledgement: what it sent before that answer (one already on
        // its way may still arrive) is skipped; from then on nothing more may come.
        worker.Tell(new Identify("acknowledged"), entity.Ref);
        entity.FishForMessage(m => m is ActorIdentity { MessageId: "acknowledged" }, TimeSpan.FromSeconds(10));
        entity.ExpectNoMsg(TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public void A_user_error_is_reported_as_such_with_its_exit_code()
    {
        var runner = new GatedRunner { Failure = new StepRunFailedException("exit code: 3", 3) };
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var entity = CreateTestProbe();
        worker.Tell(Execute("k2", entity.Ref, attempt: 1), TestActor);
        runner.Release.SetResult();

        var failed = entity.FishForMessage<StepFailed>(_ => true);
        Assert.Equal((ErrorClass.UserError, 3), (failed.ErrorClass, failed.ExitCode));
    }

    [Fact]
    public void The_step_gets_the_secret_values_of_its_own_build_from_the_builds_provider()
    {
        var runner = new GatedRunner();
        runner.Release.SetResult();
        var provider = Sys.ActorOf(SecretProvider.Props("b1", new Dictionary<string, byte[]> { ["npm"] = "token-b1"u8.ToArray() }));
        var worker = Sys.ActorOf(WorkerActor.Props(runner, "w1", 1, Fast));
        var entity = CreateTestProbe();
        var inputs = new StepInputs
        {
            BuildId = "b1",
            SecretProvider = Akka.Serialization.Serialization.SerializedActorPath(provider),
            Secrets = { new SecretRef { Id = "npm" }, new SecretRef { Id = "absent" } },
        };

        worker.Tell(Execute("k3", entity.Ref, attempt: 1, inputs), TestActor);

        entity.FishForMessage<StepCompleted>(_ => true);
        Assert.Equal("token-b1", Encoding.UTF8.GetString(runner.Secrets!["npm"]));
        Assert.False(runner.Secrets.ContainsKey("absent"));
    }

    [Fact]
    public void A_provider_answers_no_other_build()
    {
        var provider = Sys.ActorOf(SecretProvider.Props("b1", new Dictionary<string, byte[]> { ["npm"] = "token-b1"u8.ToArray() }));
        using var key = SecretSealing.NewKey();

        provider.Tell(new SecretsRequest { BuildId = "b2", Ids = { "npm" }, PublicKey = SecretSealing.PublicKeyOf(key) });

        var reply = ExpectMsg<SecretsReply>();
        Assert.Empty(reply.Secrets);
        Assert.Contains("serves build b1 only", reply.Error);
    }

    [Fact]
    public void A_run_for_a_platform_the_worker_cannot_run_fails_naming_what_is_missing()
    {
        var platforms = new WorkerPlatforms([new WorkerPlatform { Platform = "linux/amd64" }], ["binfmt_misc is not mounted at /x"]);
        var worker = Sys.ActorOf(WorkerActor.Props(new GatedRunner(), "w1", 1, Fast, platforms));
        var entity = CreateTestProbe();
        var execute = Execute("k1", entity.Ref, attempt: 1);
        execute.Definition.Platform = "linux/arm64";

        worker.Tell(execute, TestActor);

        var failed = entity.ExpectMsg<StepFailed>();
        Assert.Contains("worker w1: this worker cannot run linux/arm64 steps", failed.Message);
        Assert.Contains("qemu-user-static", failed.Message);
        Assert.Contains("binfmt_misc is not mounted at /x", failed.Message);
        ExpectMsg<WorkerSlotFreed>();
    }

    /// <summary>Runs until released; remembers the secrets it was given (copied: the worker zeroes its own after the run).</summary>
    private sealed class GatedRunner : IStepRunner
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Exception? Failure { get; init; }
        public Dictionary<string, byte[]>? Secrets { get; private set; }

        public async Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
            IStepOutput output, CancellationToken cancellationToken)
        {
            Secrets = secrets.ToDictionary(s => s.Key, s => s.Value.ToArray());
            await Release.Task.WaitAsync(cancellationToken);
            if (Failure is not null) throw Failure;
            return new StepResult { CacheKey = definition.CacheKey, EmptyLayer = true };
        }
    }
}
