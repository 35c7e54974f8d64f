using System.Diagnostics.Metrics;

namespace BuildFarm.Coordinator.Telemetry;

/// <summary>
/// The farm's OpenTelemetry instruments (meter <see cref="MeterName"/>), one instance per host process so nothing is
/// static. Counters are added where the thing happens (a worker executes, a build gets a step from the cache, a blob
/// crosses the store); gauges read snapshots that their owners (the worker pool, the worker) publish.
/// </summary>
public sealed class FarmMetrics : IDisposable
{
    public const string MeterName = "BuildFarm";

    private readonly Meter _meter;
    private readonly Counter<long> _stepsExecuted;
    private readonly Counter<long> _stepsCached;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _storeRead;
    private readonly Counter<long> _storeWritten;
    private readonly UpDownCounter<long> _buildsRunning;
    private readonly UpDownCounter<long> _executing;
    private PoolSnapshot _pool = PoolSnapshot.Empty;

    public FarmMetrics()
    {
        _meter = new Meter(MeterName);
        _stepsExecuted = _meter.CreateCounter<long>("buildfarm.steps.executed", "{step}", "Steps a worker of this process executed");
        _stepsCached = _meter.CreateCounter<long>("buildfarm.steps.cached", "{step}", "Steps a build got from the cache without running them");
        _queueWait = _meter.CreateHistogram<double>("buildfarm.step.queue_wait", "s", "Time a step waited in the worker pool for a slot");
        _storeRead = _meter.CreateCounter<long>("buildfarm.store.read", "By", "Bytes read from the content store");
        _storeWritten = _meter.CreateCounter<long>("buildfarm.store.written", "By", "Bytes written to the content store");
        _buildsRunning = _meter.CreateUpDownCounter<long>("buildfarm.builds.running", "{build}", "Builds this coordinator is running");
        _executing = _meter.CreateUpDownCounter<long>("buildfarm.worker.executing", "{step}", "Steps this process's worker is executing (its busy slots)");
        _meter.CreateObservableGauge("buildfarm.pool.steps.running", () => ByTeam(Volatile.Read(ref _pool).RunningByTeam), "{step}",
            "Steps this coordinator's pool has running on workers, by team");
        _meter.CreateObservableGauge("buildfarm.pool.steps.queued", () => ByTeam(Volatile.Read(ref _pool).QueuedByTeam), "{step}",
            "Steps waiting in this coordinator's pool for a slot or for their team's quota, by team");
        _meter.CreateObservableGauge("buildfarm.pool.worker.slots.busy",
            () => Volatile.Read(ref _pool).Workers.Select(w => new Measurement<int>(w.Busy, new KeyValuePair<string, object?>("worker", w.WorkerId))),
            "{slot}", "Busy slots of each worker the pool knows");
        _meter.CreateObservableGauge("buildfarm.pool.worker.slots",
            () => Volatile.Read(ref _pool).Workers.Select(w => new Measurement<int>(w.Slots, new KeyValuePair<string, object?>("worker", w.WorkerId))),
            "{slot}", "Slots of each worker the pool knows");
    }

    /// <summary>The label value of a team: local builds (no identity) have none.</summary>
    public static string TeamLabel(string team) => team.Length == 0 ? "local" : team;

    private static KeyValuePair<string, object?> Team(string team) => new("team", TeamLabel(team));

    private static IEnumerable<Measurement<int>> ByTeam(IReadOnlyDictionary<string, int> counts) =>
        counts.Select(c => new Measurement<int>(c.Value, Team(c.Key)));

    public void PublishPool(PoolSnapshot snapshot) => Volatile.Write(ref _pool, snapshot);

    public void RecordQueueWait(string team, TimeSpan wait) => _queueWait.Record(wait.TotalSeconds, Team(team));

    public void StepCached(string team) => _stepsCached.Add(1, Team(team));

    public void StepExecuted(string team) => _stepsExecuted.Add(1, Team(team));

    public void ExecutionStarted() => _executing.Add(1);

    public void ExecutionEnded() => _executing.Add(-1);

    public void BuildStarted(string team) => _buildsRunning.Add(1, Team(team));

    public void BuildEnded(string team) => _buildsRunning.Add(-1, Team(team));

    public void StoreRead(long bytes) => _storeRead.Add(bytes);

    public void StoreWritten(long bytes) => _storeWritten.Add(bytes);

    public void Dispose() => _meter.Dispose();
}
