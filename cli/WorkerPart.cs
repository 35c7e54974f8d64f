using Akka.Actor;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Platforms;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Cli;

/// <summary>
/// The worker role of a <see cref="LocalFarm"/>: its home's snapshot root, a local blob cache in front of the shared
/// store, the context materializer that fetches build contexts from the store by digest, and the worker actor.
/// </summary>
public sealed class WorkerPart
{
    private readonly StepExecutorRunner _runner;
    private readonly string _hostIdentity;

    public WorkerPart(BuildFarmHome home, ContentStoreOptions store, IContentStore blobs, LocalFarmOptions options, TextWriter? trace = null,
        string? hostIdentity = null)
    {
        // The shared store is read through the local LRU blob cache unless it is this home's own folder already
        // (the embedded default: a second copy on the same disk would only cost space and time).
        var local = store.Kind == ContentStoreKind.Local && !options.StoreIsShared;
        ReadsStoreDirectly = local;
        var workerBlobs = local ? blobs : new CachingContentStore(blobs, home.WorkerBlobs, options.WorkerBlobCacheBytes);
        var contexts = new ContextMaterializer(workerBlobs, new ContextMaterializerOptions(home.WorkerContexts, options.WorkerContextBytes));
        var executorOptions = new StepExecutorOptions(home.Worker) { Limits = options.RunLimits, Trace = trace, HostIdentity = HostIdentity.Of(hostIdentity) };
        _hostIdentity = executorOptions.HostIdentity;
        if (options.SnapshotCacheBytes is { } snapshotCap) executorOptions = executorOptions with { SnapshotCacheBytes = snapshotCap };
        _runner = new StepExecutorRunner(StepExecutor.Create(workerBlobs, executorOptions), contexts);
        Slots = options.WorkerSlots;
        _metered = options.Telemetry is { } telemetry ? new MeteredStepRunner(_runner, telemetry.Metrics) : _runner;
    }

    /// <summary>Whether this worker reads the farm's store itself (a folder of this machine), not through a blob cache.</summary>
    public bool ReadsStoreDirectly { get; }

    /// <summary>What the worker actor runs steps through: the runner, counted when the host records metrics.</summary>
    private readonly IStepRunner _metered;

    /// <summary>How this worker names itself to the pool (and in <c>buildfarm workers</c>).</summary>
    public string Id { get; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    public int Slots { get; }

    /// <summary>Starts the worker actor on a started engine node: it registers its slots with every coordinator.</summary>
    public void Attach(EngineNode node, EngineTimings timings) =>
        node.System.ActorOf(WorkerActor.Props(_metered, Id, Slots, timings, Platforms, _hostIdentity), ActorNames.Worker);

    /// <summary>What this worker's RUN steps can execute, probed once at start (registering QEMU handlers when root).</summary>
    public WorkerPlatforms Platforms { get; } = new PlatformProbe().Detect(register: Environment.UserName == "root");

    /// <summary>Waits for running steps to unwind (containers killed, mounts released) before the process may exit.</summary>
    public Task DrainAsync(TimeSpan timeout) => _runner.DrainAsync(timeout);
}
