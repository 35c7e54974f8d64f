using System.Diagnostics;
using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;

namespace BuildFarm.Tests.Telemetry;

public sealed class BuildTraceTests : IDisposable
{
    private readonly FarmTelemetry _telemetry = new();
    private readonly List<Activity> _spans = [];
    private readonly ActivityListener _listener;

    public BuildTraceTests()
    {
        // Only this test's source instance: other tests' telemetry objects share the name.
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, _telemetry.Source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (_spans) _spans.Add(a); },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _telemetry.Dispose();
    }

    private static ProgressEvent Event(ProgressEvent.Types.Kind kind, string key, long at, string name = "") =>
        new() { Kind = kind, StepId = key, TimestampUnixMs = at, Name = name };

    [Fact]
    public void A_build_span_has_one_child_per_step_with_its_cache_outcome_worker_and_times()
    {
        var trace = new BuildTrace(_telemetry, new StartBuild { BuildId = "b1", Team = "a" });
        trace.Observe(Event(ProgressEvent.Types.Kind.Cached, "k1", 1_000, "[1/2] ADD rootfs.tar /"));
        trace.Observe(Event(ProgressEvent.Types.Kind.CacheMiss, "k2", 1_010, "[2/2] RUN make"));
        trace.Observe(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Started, StepId = "k2", TimestampUnixMs = 1_300, StartedUnixMs = 1_250 });
        trace.Observe(Event(ProgressEvent.Types.Kind.Log, "k2", 1_400));
        trace.Observe(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Completed, StepId = "k2", TimestampUnixMs = 2_300, StartedUnixMs = 1_250, CompletedUnixMs = 2_250 });

        trace.Finish(new BuildFinished
        {
            BuildId = "b1", Success = true,
            Outcomes = { new NodeOutcome { Index = 2, Result = new StepResult { CacheKey = "k2", Worker = "w7" } } },
        });

        var build = Assert.Single(_spans, s => s.DisplayName == "build");
        var steps = _spans.Where(s => s.ParentSpanId == build.SpanId).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["[1/2] ADD rootfs.tar /", "[2/2] RUN make"], steps.Select(s => s.DisplayName));
        Assert.Equal(true, steps[0].GetTagItem("buildfarm.step.cache_hit"));
        Assert.Equal(false, steps[1].GetTagItem("buildfarm.step.cache_hit"));
        Assert.Equal("w7", steps[1].GetTagItem("buildfarm.step.worker"));
        Assert.Equal(240L, steps[1].GetTagItem("buildfarm.step.queue_wait_ms"));
        Assert.Equal(1_000L, steps[1].GetTagItem("buildfarm.step.execution_ms"));
        Assert.Equal(TimeSpan.FromMilliseconds(1_240), steps[1].Duration);
        Assert.Equal(build.TraceId, steps[1].TraceId);
    }

    [Fact]
    public void A_failed_step_and_its_build_are_marked_as_errors()
    {
        var trace = new BuildTrace(_telemetry, new StartBuild { BuildId = "b2" });
        trace.Observe(Event(ProgressEvent.Types.Kind.CacheMiss, "k1", 1_000, "RUN false"));
        trace.Observe(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Failed, StepId = "k1", TimestampUnixMs = 1_500, Error = "exit code 1" });

        trace.Finish(new BuildFinished { BuildId = "b2", Success = false, Error = "RUN false: exit code 1" });

        Assert.All(_spans, s => Assert.Equal(ActivityStatusCode.Error, s.Status));
        Assert.Equal(2, _spans.Count);
    }
}
