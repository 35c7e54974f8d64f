using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Export;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Steps;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Cli;

/// <summary>
/// Coordinator and worker in this process: a one-node cluster over the store the environment names (the folder under
/// BUILDFARM_HOME, or the cache BUILDFARM_CACHE names). Used by embedded builds and by <c>buildfarm serve</c>.
/// </summary>
public sealed class LocalFarm : IAsyncDisposable
{
    private readonly SharedCache _cache;
    private readonly StepExecutorRunner _runner;
    private readonly Task<EngineNode> _engine;
    private RegistryClient? _registry;

    private readonly string _dockerConfig;

    private LocalFarm(CliEnvironment environment, LocalFarmOptions farmOptions, SharedCache cache, StepExecutorRunner runner,
        Task<EngineNode> engine, string scratch)
    {
        var home = environment.Home;
        _dockerConfig = environment.DockerConfigDirectory;
        Home = home;
        _cache = cache;
        _runner = runner;
        _engine = engine;
        Scratch = scratch;
        Images = new LocalImageStore(home.Images);
        Runner = new BuildRunner(engine, cache.Blobs, new BaseImageResolver(cache.Blobs, Registry, home.Root, Images), Images,
            new ImageOutputs(cache.Blobs, scratch, Registry), scratch, home.ContextHashes, environment.Trace ? Console.Error : null)
        {
            PublishContexts = farmOptions.PublishContexts,
            EntitlementsAllowed = farmOptions.EntitlementsAllowed,
        };
    }

    public BuildFarmHome Home { get; }
    public string Scratch { get; }
    public IContentStore Store => _cache.Blobs;
    public LocalImageStore Images { get; }
    public BuildRunner Runner { get; }

    public static Task<LocalFarm> StartAsync(CliEnvironment environment, EngineOptions options, CancellationToken cancellationToken) =>
        StartAsync(environment, options, LocalFarmOptions.Embedded, cancellationToken);

    public static Task<LocalFarm> StartAsync(CliEnvironment environment, EngineOptions options, LocalFarmOptions farmOptions,
        CancellationToken cancellationToken)
    {
        var home = environment.Home;
        Directory.CreateDirectory(home.Root);
        Worker.Snapshots.CrashLeftovers.RemoveDeadOwners(home.Temp); // scratch of builds killed before they could clean up
        var scratch = Path.Combine(home.Temp, $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(scratch);
        var cache = ContentStoreFactory.Open(environment.Store);
        try
        {
            // A remote store is read through the worker's local LRU blob cache; a local folder store is on this disk already.
            var workerBlobs = environment.Store.Kind == ContentStoreKind.Local
                ? cache.Blobs
                : new CachingContentStore(cache.Blobs, home.WorkerBlobs, farmOptions.WorkerBlobCacheBytes);
            var contexts = new Worker.Context.ContextMaterializer(workerBlobs, new Worker.Context.ContextMaterializerOptions(home.WorkerContexts, farmOptions.WorkerContextBytes));
            var runner = new StepExecutorRunner(StepExecutor.Create(workerBlobs, new StepExecutorOptions(home.Worker) { Limits = farmOptions.RunLimits }), contexts);
            // The cluster starts on the thread pool while the caller plans and hashes the context; the build
            // waits for it only when it has a step graph to hand over.
            var engine = Task.Run(async () =>
            {
                // Remoting is mutual TLS with this home's (or the farm's) certificate: no other local user can drive the engine.
                var certificate = environment.FarmRemotingCertificate
                    ? RemotingCertificate.Load(environment.RemotingCertificate, environment.RemotingCertificatePassword)
                    : RemotingCertificate.LoadOrCreate(environment.RemotingCertificate);
                var engineOptions = options with
                {
                    Tls = options.Tls ?? RemotingTls.SelfTrusting(certificate),
                    DebugLogPath = options.DebugLogPath ?? (environment.Debug ? home.DebugLog : null),
                };
                var node = await EngineNode.StartAsync(engineOptions, new CacheStepRecordStore(cache), cancellationToken);
                node.System.ActorOf(WorkerActor.Props(runner, $"{Environment.MachineName}/{Environment.ProcessId}",
                    Math.Max(2, Environment.ProcessorCount), options.Timings), ActorNames.Worker);
                return node;
            }, CancellationToken.None);
            return Task.FromResult(new LocalFarm(environment, farmOptions, cache, runner, engine, scratch));
        }
        catch
        {
            cache.Dispose();
            Directory.Delete(scratch, recursive: true);
            throw;
        }
    }

    private RegistryClient Registry() => _registry ??= new RegistryClient(new RegistryClientOptions
    {
        Credentials = DockerConfigCredentialProvider.FromDirectory(_dockerConfig),
    });

    public async ValueTask DisposeAsync()
    {
        EngineNode? engine = null;
        try { engine = await _engine; }
        catch (Exception) when (_engine.IsFaulted || _engine.IsCanceled) { } // it failed to start: nothing to stop; the build reported it
        if (engine is not null) await engine.DisposeAsync();
        // Canceled steps unwind (container killed, mounts released) before the process may exit.
        await _runner.DrainAsync(TimeSpan.FromSeconds(30));
        _registry?.Dispose();
        _cache.Dispose();
        try { Directory.Delete(Scratch, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
