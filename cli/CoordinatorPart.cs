using BuildFarm.Cache;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Export;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli;

/// <summary>
/// The coordinator role of a <see cref="LocalFarm"/>: the build runner (plan, pin bases, hand the step graph to the
/// engine, assemble and export the image) over the shared store, and the image name index of this home.
/// </summary>
public sealed class CoordinatorPart : IDisposable
{
    private readonly string _dockerConfig;
    private RegistryClient? _registry;

    /// <param name="followedStore">The local store this process's own worker reads (same instance): base layers are
    /// unpacked while they download. Null when workers read the store elsewhere.</param>
    public CoordinatorPart(CliEnvironment environment, LocalFarmOptions options, IContentStore blobs, Task<EngineNode> engine, string scratch,
        IStepRecordIndex records, LocalContentStore? followedStore = null)
    {
        var home = environment.Home;
        _dockerConfig = environment.DockerConfigDirectory;
        Images = new LocalImageStore(home.Images);
        Runner = new BuildRunner(engine, blobs, new BaseImageResolver(blobs, Registry, home.Root, Images)
            {
                FollowedStore = followedStore,
                Trace = environment.Trace ? Console.Error : null,
            }, Images,
            new ImageOutputs(blobs, scratch, Registry), scratch, home.ContextHashes, environment.Trace ? Console.Error : null)
        {
            PublishContexts = options.PublishContexts,
            HostIdentity = environment.HostIdentity,
            ClientPathsAreLocal = !options.PublishContexts, // embedded: the client is this process, its sockets are local
            EntitlementsAllowed = options.EntitlementsAllowed,
            CacheIo = new Coordinator.CacheIo.BuildCacheIo(blobs, records, scratch),
            Registry = Registry,
            CacheImportAllowed = options.CacheImportAllowed,
            PrepushLayers = environment.PrepushLayers,
        };
    }

    public LocalImageStore Images { get; }
    public BuildRunner Runner { get; }

    private RegistryClient Registry() => _registry ??= new RegistryClient(new RegistryClientOptions
    {
        Credentials = DockerConfigCredentialProvider.FromDirectory(_dockerConfig),
    });

    public void Dispose() => _registry?.Dispose();
}
