using Akka.Actor;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>"Why did this step miss the cache?" as the step entity answers it, over a real local cache.</summary>
public sealed class StepMissExplanationTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private const string Identity = "Dockerfile#stage=build#s1.2";
    private static readonly string ParentKey = "sha256:" + new string('p', 64);
    private readonly string _root = Directory.CreateTempSubdirectory("bf-miss-").FullName;
    private readonly SharedCache _cache;
    private readonly CacheStepRecordStore _records;

    public StepMissExplanationTests() : base(TestKitConfig.With("akka.actor.provider = local"))
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = _root });
        _records = new CacheStepRecordStore(_cache);
    }

    void IDisposable.Dispose()
    {
        _cache.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static CacheKeyInputs Inputs(string version, string? parentKey = null) => new()
    {
        Platform = "linux/amd64",
        Parent = CacheKeyParent.Step(parentKey ?? ParentKey),
        Instruction = "RUN make VERSION=$VERSION",
        BuildArgs = new Dictionary<string, string> { ["VERSION"] = version },
    };

    private static StepDefinition Spec(CacheKeyInputs inputs, string? parentKey = null) => new()
    {
        CacheKey = inputs.ComputeKey(),
        Run = new RunOp { Args = { "make" } },
        KeyInputsJson = inputs.ToCanonicalJson(),
        ParentKey = parentKey ?? ParentKey,
    };

    private static RequestStep Request(StepDefinition spec, bool noCache = false) =>
        new() { Definition = spec, Inputs = new StepInputs { BuildId = "b1", StepIdentity = Identity }, NoCache = noCache };

    private async Task RecordEarlierRunAsync(StepDefinition spec) =>
        await _records.SaveAsync(spec, Identity, new StepResult { CacheKey = spec.CacheKey, EmptyLayer = true, CompletedUnixMs = 1_000 }, CancellationToken.None);

    private StepMissExplained RunAndExplain(StepDefinition spec, bool noCache = false)
    {
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(spec.CacheKey, _records, pool.Ref, EngineTimings.Default));
        entity.Tell(Request(spec, noCache), TestActor);
        pool.ExpectMsg<DispatchStep>(d => d.Definition.CacheKey == spec.CacheKey);
        return ExpectMsg<StepMissExplained>();
    }

    [Fact]
    public async Task A_changed_build_arg_is_named_with_its_old_and_new_value()
    {
        await RecordEarlierRunAsync(Spec(Inputs("1.2")));

        var explained = RunAndExplain(Spec(Inputs("1.3")));

        Assert.Equal("buildArgs.VERSION: 1.2 -> 1.3", explained.Explanation);
        Assert.Equal(["buildArgs.VERSION"], explained.ChangedInputs);
    }

    [Fact]
    public async Task A_step_after_a_changed_step_says_its_parent_changed()
    {
        var oldParent = "sha256:" + new string('o', 64);
        await RecordEarlierRunAsync(Spec(Inputs("1.2", oldParent), oldParent));

        var explained = RunAndExplain(Spec(Inputs("1.2")));

        Assert.Equal("parent changed", explained.Explanation);
        Assert.Equal(["parent"], explained.ChangedInputs);
    }

    [Fact]
    public async Task The_nearest_of_several_earlier_records_is_the_one_explained_against()
    {
        await RecordEarlierRunAsync(Spec(Inputs("1.2") with { Instruction = "RUN make all", Platform = "linux/arm64" }));
        await RecordEarlierRunAsync(Spec(Inputs("1.2")));

        var explained = RunAndExplain(Spec(Inputs("1.3")));

        Assert.Equal(["buildArgs.VERSION"], explained.ChangedInputs);
    }

    [Fact]
    public void A_step_never_built_before_says_so()
    {
        var explained = RunAndExplain(Spec(Inputs("1.3")));

        Assert.Equal(StepMissExplainer.NoEarlierRecord, explained.Explanation);
        Assert.Empty(explained.ChangedInputs);
    }

    [Fact]
    public async Task A_record_whose_layer_was_pruned_is_named_as_the_reason()
    {
        var spec = Spec(Inputs("1.2"));
        var gone = new LayerRef { Digest = "sha256:" + new string('d', 64), Size = 10, MediaType = "application/vnd.oci.image.layer.v1.tar+gzip", DiffId = "sha256:" + new string('e', 64) };
        await _records.SaveAsync(spec, Identity, new StepResult { CacheKey = spec.CacheKey, Layer = gone, CompletedUnixMs = 1_000 }, CancellationToken.None);

        var explained = RunAndExplain(spec);

        Assert.Equal(StepMissExplainer.SameInputsGone, explained.Explanation);
    }

    [Fact]
    public async Task No_cache_is_the_explanation_when_the_build_asked_for_it()
    {
        var spec = Spec(Inputs("1.2"));
        await RecordEarlierRunAsync(spec);

        var explained = RunAndExplain(spec, noCache: true);

        Assert.Equal("--no-cache", explained.Explanation);
    }

    [Fact]
    public async Task A_failing_explanation_lookup_still_runs_the_step_to_completion()
    {
        var spec = Spec(Inputs("1.3"));
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(spec.CacheKey, new ExplanationFails(_records), pool.Ref, EngineTimings.Default));

        entity.Tell(Request(spec), TestActor);
        pool.ExpectMsg<DispatchStep>();
        entity.Tell(new StepCompleted { Attempt = 1, Result = new StepResult { CacheKey = spec.CacheKey, EmptyLayer = true, CompletedUnixMs = 2_000 } }, ActorRefs.NoSender); // from the worker, through the region

        var completed = ExpectMsg<StepCompleted>();
        Assert.False(completed.Cached);
        Assert.NotNull(await _records.FindAsync(spec.CacheKey, CancellationToken.None));
    }

    [Fact]
    public async Task A_build_joining_a_running_step_hears_why_it_missed()
    {
        await RecordEarlierRunAsync(Spec(Inputs("1.2")));
        var spec = Spec(Inputs("1.3"));
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(spec.CacheKey, _records, pool.Ref, EngineTimings.Default));
        entity.Tell(Request(spec), TestActor);
        pool.ExpectMsg<DispatchStep>();
        ExpectMsg<StepMissExplained>();
        var second = CreateTestProbe();

        entity.Tell(new RequestStep { Definition = spec, Inputs = new StepInputs { BuildId = "b2", StepIdentity = Identity } }, second.Ref);

        Assert.Equal("buildArgs.VERSION: 1.2 -> 1.3", second.ExpectMsg<StepMissExplained>().Explanation);
        pool.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_step_that_finishes_before_its_explanation_is_reported_after_the_explanation()
    {
        await RecordEarlierRunAsync(Spec(Inputs("1.2")));
        var spec = Spec(Inputs("1.3"));
        var slow = new SlowExplanation(_records);
        var pool = CreateTestProbe();
        // A grace no slow test thread outlasts: the completion waits for the release below, not for the timer.
        var timings = EngineTimings.Default with { MissExplanationGrace = TimeSpan.FromMinutes(1) };
        var entity = Sys.ActorOf(StepEntity.Props(spec.CacheKey, slow, pool.Ref, timings));
        entity.Tell(Request(spec), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new StepCompleted { Attempt = 1, Result = new StepResult { CacheKey = spec.CacheKey, EmptyLayer = true, CompletedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } }, ActorRefs.NoSender); // from the worker, through the region
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        slow.Release.SetResult();

        Assert.Equal("buildArgs.VERSION: 1.2 -> 1.3", ExpectMsg<StepMissExplained>().Explanation);
        ExpectMsg<StepCompleted>();
    }

    [Fact]
    public void A_step_whose_explanation_never_comes_completes_after_a_short_grace()
    {
        var spec = Spec(Inputs("1.3"));
        var pool = CreateTestProbe();
        var entity = Sys.ActorOf(StepEntity.Props(spec.CacheKey, new SlowExplanation(_records), pool.Ref, EngineTimings.Default));
        entity.Tell(Request(spec), TestActor);
        pool.ExpectMsg<DispatchStep>();

        entity.Tell(new StepCompleted { Attempt = 1, Result = new StepResult { CacheKey = spec.CacheKey, EmptyLayer = true, CompletedUnixMs = 2_000 } }, ActorRefs.NoSender); // from the worker, through the region

        ExpectMsg<StepCompleted>(TimeSpan.FromSeconds(10));
    }

    /// <summary>The real store, with the explanation held back until released (a slow store).</summary>
    private sealed class SlowExplanation(IStepRecordStore inner) : IStepRecordStore
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken) => inner.FindAsync(cacheKey, cancellationToken);
        public Task SaveAsync(StepDefinition spec, string identity, StepResult result, CancellationToken cancellationToken) =>
            inner.SaveAsync(spec, identity, result, cancellationToken);
        public async Task<StepMissExplained> ExplainMissAsync(StepDefinition spec, string identity, DateTimeOffset dispatchedAt, CancellationToken cancellationToken)
        {
            await Release.Task;
            return await inner.ExplainMissAsync(spec, identity, dispatchedAt, cancellationToken);
        }
    }

    /// <summary>The real store, with the explanation lookup failing (a store outage while a step runs).</summary>
    private sealed class ExplanationFails(IStepRecordStore inner) : IStepRecordStore
    {
        public Task<StepResult?> FindAsync(string cacheKey, CancellationToken cancellationToken) => inner.FindAsync(cacheKey, cancellationToken);
        public Task SaveAsync(StepDefinition spec, string identity, StepResult result, CancellationToken cancellationToken) =>
            inner.SaveAsync(spec, identity, result, cancellationToken);
        public Task<StepMissExplained> ExplainMissAsync(StepDefinition spec, string identity, DateTimeOffset dispatchedAt, CancellationToken cancellationToken) =>
            Task.FromException<StepMissExplained>(new IOException("store unreachable"));
    }
}
