using System.Diagnostics;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Telemetry;

/// <summary>
/// The trace of one build, written by the node that took the build's call from the events the build streams back:
/// one span for the build and, when it ends, one child span per step it needed, timed and tagged from those events
/// (cache hit or miss, the worker, queue wait, execution). Spans are made from the events rather than across the
/// actors so no message carries trace context and a build resumed on another coordinator keeps one trace.
/// </summary>
public sealed class BuildTrace
{
    private sealed class StepMarks
    {
        public string Name { get; set; } = "";
        public string Location { get; set; } = "";
        public int Index { get; set; }
        public long FirstSeenMs { get; set; }
        public long MissMs { get; set; }
        public long StartedMs { get; set; }
        public long QueuedMs { get; set; }
        public long CompletedMs { get; set; }
        public bool Cached { get; set; }
        public string MissReason { get; set; } = "";
        public string Error { get; set; } = "";
    }

    private readonly FarmTelemetry _telemetry;
    private readonly StartBuild _start;
    private readonly Activity? _build;
    private readonly Dictionary<string, StepMarks> _steps = new(StringComparer.Ordinal);

    public BuildTrace(FarmTelemetry telemetry, StartBuild start)
    {
        _telemetry = telemetry;
        _start = start;
        // Started detached from the caller's ambient activity and not left ambient: the build's span is a root.
        var previous = Activity.Current;
        Activity.Current = null;
        _build = telemetry.Source.StartActivity("build", ActivityKind.Internal);
        Activity.Current = previous;
        _build?.SetTag("buildfarm.build.id", start.BuildId);
        _build?.SetTag("buildfarm.team", FarmMetrics.TeamLabel(start.Team));
        _build?.SetTag("buildfarm.build.resumed", start.Resumed);
        telemetry.Metrics.BuildStarted(start.Team);
    }

    public void Observe(ProgressEvent e)
    {
        if (e.StepId.Length == 0) return;
        if (!_steps.TryGetValue(e.StepId, out var step))
            _steps[e.StepId] = step = new StepMarks { FirstSeenMs = e.TimestampUnixMs };
        if (e.Name.Length > 0) step.Name = e.Name;
        if (e.Location.Length > 0) step.Location = e.Location;
        step.Index = e.Index;
        switch (e.Kind)
        {
            case ProgressEvent.Types.Kind.Cached:
                step.Cached = true;
                step.CompletedMs = e.TimestampUnixMs;
                _telemetry.Metrics.StepCached(_start.Team);
                break;
            case ProgressEvent.Types.Kind.CacheMiss:
                step.MissMs = e.TimestampUnixMs;
                step.MissReason = e.CacheMiss;
                break;
            case ProgressEvent.Types.Kind.Started:
                step.StartedMs = e.StartedUnixMs > 0 ? e.StartedUnixMs : e.TimestampUnixMs;
                if (e.QueuedUnixMs > 0) step.QueuedMs = e.QueuedUnixMs;
                break;
            case ProgressEvent.Types.Kind.Completed:
                if (e.StartedUnixMs > 0) step.StartedMs = e.StartedUnixMs;
                step.CompletedMs = e.CompletedUnixMs > 0 ? e.CompletedUnixMs : e.TimestampUnixMs;
                break;
            case ProgressEvent.Types.Kind.Failed:
                step.Error = e.Error;
                step.CompletedMs = e.TimestampUnixMs;
                break;
        }
    }

    private void Phase(Activity step, string name, long startMs, long endMs)
    {
        var phase = _telemetry.Source.StartActivity(ActivityKind.Internal, step.Context, startTime: DateTimeOffset.FromUnixTimeMilliseconds(startMs), name: name);
        if (phase is null) return;
        phase.SetEndTime(DateTimeOffset.FromUnixTimeMilliseconds(endMs).UtcDateTime);
        phase.Stop();
    }

    /// <summary>Writes the step spans and ends the build's span.</summary>
    public void Finish(BuildFinished? finished)
    {
        _telemetry.Metrics.BuildEnded(_start.Team);
        if (_build is null) return;
        var workers = new Dictionary<string, string>(StringComparer.Ordinal);
        var uploads = new Dictionary<string, (long Started, long Completed)>(StringComparer.Ordinal);
        if (finished is not null)
            foreach (var outcome in finished.Outcomes)
            {
                if (outcome.Result is { CacheKey.Length: > 0 } result && result.Worker.Length > 0)
                    workers[result.CacheKey] = result.Worker;
                if (outcome.Result is { CacheKey.Length: > 0, UploadStartedUnixMs: > 0 } uploaded
                    && uploaded.UploadCompletedUnixMs >= uploaded.UploadStartedUnixMs)
                    uploads[uploaded.CacheKey] = (uploaded.UploadStartedUnixMs, uploaded.UploadCompletedUnixMs);
            }
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var previous = Activity.Current; // each span started here becomes ambient until stopped: restore the caller's
        foreach (var (key, step) in _steps.OrderBy(s => s.Value.FirstSeenMs))
        {
            var begin = Math.Min(step.FirstSeenMs, step.StartedMs > 0 ? step.StartedMs : long.MaxValue);
            var tags = new ActivityTagsCollection
            {
                ["buildfarm.step.key"] = key,
                ["buildfarm.step.index"] = step.Index,
                ["buildfarm.step.cache_hit"] = step.Cached,
            };
            if (step.Location.Length > 0) tags["buildfarm.step.location"] = step.Location;
            if (!step.Cached && step.MissReason.Length > 0) tags["buildfarm.step.cache_miss"] = step.MissReason;
            if (workers.TryGetValue(key, out var worker)) tags["buildfarm.step.worker"] = worker;
            // The pool's queue stamp when the worker passed it on; else from the miss (which may come after the start).
            var queued = step.QueuedMs > 0 ? step.QueuedMs : step.MissMs;
            if (queued > 0 && step.StartedMs >= queued) tags["buildfarm.step.queue_wait_ms"] = step.StartedMs - queued;
            // Execution ends where the layer's upload begins, when the worker told it.
            var upload = !step.Cached && uploads.TryGetValue(key, out var u) ? u : default;
            var executionEnd = upload.Started >= step.StartedMs && upload.Started > 0 ? upload.Started : step.CompletedMs;
            if (step.StartedMs > 0 && executionEnd >= step.StartedMs) tags["buildfarm.step.execution_ms"] = executionEnd - step.StartedMs;
            if (upload.Started > 0) tags["buildfarm.step.upload_ms"] = upload.Completed - upload.Started;
            var span = _telemetry.Source.StartActivity(ActivityKind.Internal, _build.Context, tags,
                startTime: DateTimeOffset.FromUnixTimeMilliseconds(begin), name: step.Name.Length > 0 ? step.Name : key);
            if (span is null) continue;
            if (step.Error.Length > 0) span.SetStatus(ActivityStatusCode.Error, step.Error);
            // The phases of an executed step as spans of their own: where its time went, seen in any trace viewer.
            if (queued > 0 && step.StartedMs >= queued) Phase(span, "queue wait", queued, step.StartedMs);
            if (step.StartedMs > 0 && executionEnd >= step.StartedMs) Phase(span, "execution", step.StartedMs, executionEnd);
            if (upload.Started > 0) Phase(span, "upload", upload.Started, upload.Completed);
            span.SetEndTime(DateTimeOffset.FromUnixTimeMilliseconds(step.CompletedMs >= begin ? step.CompletedMs : now).UtcDateTime);
            span.Stop();
        }
        if (finished is null) _build.SetStatus(ActivityStatusCode.Error, "the build ended without an outcome");
        else if (!finished.Success) _build.SetStatus(ActivityStatusCode.Error, finished.Canceled ? "canceled" : finished.Error);
        _build.SetTag("buildfarm.build.success", finished?.Success ?? false);
        _build.Stop();
        Activity.Current = previous;
    }
}
