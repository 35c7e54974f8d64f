using BuildFarm.Cache;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos;

namespace BuildFarm.Cli;

/// <summary>
/// One engine node of this process over the store the environment names (the folder under BUILDFARM_HOME, or the
/// cache BUILDFARM_CACHE names), with the parts its roles ask for: <see cref="CoordinatorPart"/> and/or
/// <see cref="WorkerPart"/>. Both roles make the one-node cluster of embedded builds and <c>buildfarm serve</c>;
/// <c>buildfarm coordinator</c> and <c>buildfarm worker</c> start one part each.
/// </summary>
public sealed class LocalFarm : IAsyncDisposable
{
    private readonly SharedCache _cache;
    private readonly CoordinatorPart? _coordinator;

    private LocalFarm(BuildFarmHome home, SharedCache cache, CoordinatorPart? coordinator, WorkerPart? worker, Task<EngineNode> engine, string scratch)
    {
        Home = home;
        _cache = cache;
        _coordinator = coordinator;
        Worker = worker;
        Engine = engine;
        Scratch = scratch;
    }

    public BuildFarmHome Home { get; }
    public string Scratch { get; }
    public IContentStore Store => _cache.Blobs;
    /// <summary>The store and its step records (what <c>rmi</c> must not delete from under the build cache).</summary>
    public SharedCache Cache => _cache;

    /// <summary>The engine node; it starts on the thread pool while the caller plans and hashes the context.</summary>
    public Task<EngineNode> Engine { get; }

    /// <summary>The worker role of this process, when it has one.</summary>
    public WorkerPart? Worker { get; }

    public bool IsCoordinator => _coordinator is not null;
    public LocalImageStore Images => Coordinator.Images;
    public BuildRunner Runner => Coordinator.Runner;

    private CoordinatorPart Coordinator => _coordinator ?? throw new InvalidOperationException("this node has no coordinator role");

    public static Task<LocalFarm> StartAsync(CliEnvironment environment, EngineOptions options, CancellationToken cancellationToken) =>
        StartAsync(environment, options, LocalFarmOptions.Embedded, cancellationToken);

    public static Task<LocalFarm> StartAsync(CliEnvironment environment, EngineOptions options, LocalFarmOptions farmOptions,
        CancellationToken cancellationToken)
    {
        var home = environment.Home;
        Directory.CreateDirectory(home.Root);
        BuildFarm.Worker.Snapshots.CrashLeftovers.RemoveDeadOwners(home.Temp); // scratch of builds killed before they could clean up
        var scratch = Path.Combine(home.Temp, $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(scratch);
        var cache = ContentStoreFactory.Open(environment.Store);
        CoordinatorPart? coordinator = null;
        try
        {
            IContentStore blobs = farmOptions.Telemetry is { } telemetry ? new MeteredContentStore(cache.Blobs, telemetry.Metrics) : cache.Blobs;
            var worker = options.Roles.Contains(EngineRoles.Worker) ? new WorkerPart(home, environment.Store, blobs, farmOptions, environment.Trace ? Console.Error : null, environment.HostIdentity) : null;
            var engineStarted = new TaskCompletionSource<EngineNode>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (options.Roles.Contains(EngineRoles.Coordinator))
            {
                // This process's worker reads this very folder store: base layers can be unpacked while they download.
                var followed = worker is not null && worker.ReadsStoreDirectly && cache.Blobs is LocalContentStore own ? own : null;
                coordinator = new CoordinatorPart(environment, farmOptions, blobs, engineStarted.Task, scratch, cache.Records, followed);
            }
            // The cluster starts on the thread pool while the caller plans and hashes the context; the build
            // waits for it only when it has a step graph to hand over.
            _ = Task.Run(async () =>
            {
                try { engineStarted.TrySetResult(await StartEngineAsync(environment, options, cache, worker, cancellationToken)); }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { engineStarted.TrySetCanceled(cancellationToken); }
                catch (Exception e) { engineStarted.TrySetException(e); }
            }, CancellationToken.None);
            return Task.FromResult(new LocalFarm(home, cache, coordinator, worker, engineStarted.Task, scratch));
        }
        catch
        {
            coordinator?.Dispose();
            cache.Dispose();
            Directory.Delete(scratch, recursive: true);
            throw;
        }
    }

    private static async Task<EngineNode> StartEngineAsync(CliEnvironment environment, EngineOptions options, SharedCache cache,
        WorkerPart? worker, CancellationToken cancellationToken)
    {
        // Remoting is mutual TLS with this home's (or the farm's) certificate: no other local user can drive the engine.
        var certificate = environment.FarmRemotingCertificate
            ? RemotingCertificate.Load(environment.RemotingCertificate, environment.RemotingCertificatePassword)
            : RemotingCertificate.LoadOrCreate(environment.RemotingCertificate);
        var engineOptions = options with
        {
            Tls = options.Tls ?? RemotingTls.SelfTrusting(certificate),
            DebugLogPath = options.DebugLogPath ?? (environment.Debug ? environment.Home.DebugLog : null),
        };
        var node = await EngineNode.StartAsync(engineOptions, new CacheStepRecordStore(cache), cancellationToken);
        worker?.Attach(node, options.Timings);
        return node;
    }

    /// <summary>Leaves the cluster gracefully (a host asked to stop): running steps finish within <paramref name="drain"/>
    /// or are handed back, then the node stops.</summary>
    public async Task LeaveAsync(TimeSpan drain, CancellationToken cancellationToken)
    {
        if (!Engine.IsCompletedSuccessfully) return;
        await Engine.Result.LeaveAsync(drain, cancellationToken);
        if (Worker is not null) await Worker.DrainAsync(drain);
    }

    public async ValueTask DisposeAsync()
    {
        EngineNode? engine = null;
        try { engine = await Engine; }
        catch (Exception) when (Engine.IsFaulted || Engine.IsCanceled) { } // it failed to start: nothing to stop; the caller reported it
        if (engine is not null) await engine.DisposeAsync();
        // Canceled steps unwind (container killed, mounts released) before the process may exit.
        if (Worker is not null) await Worker.DrainAsync(TimeSpan.FromSeconds(30));
        _coordinator?.Dispose();
        _cache.Dispose();
        try { Directory.Delete(Scratch, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
