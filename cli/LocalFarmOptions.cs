namespace BuildFarm.Cli;

/// <summary>How a <see cref="LocalFarm"/> hands contexts to its worker and how much the worker keeps locally.</summary>
/// <param name="PublishContexts">Send each build's context through the content store by manifest digest (<c>serve</c>,
/// <c>coordinator</c>: the worker never reads the coordinator's folder); false keeps the embedded path, where the worker
/// reads the folder.</param>
/// <param name="WorkerBlobCacheBytes">The worker's local LRU blob cache in front of a remote (S3) store.</param>
/// <param name="WorkerContextBytes">Materialized contexts the worker keeps for reuse (least recently used go first).</param>
public sealed record LocalFarmOptions(bool PublishContexts = false, long WorkerBlobCacheBytes = 8L << 30, long WorkerContextBytes = 2L << 30)
{
    public static LocalFarmOptions Embedded { get; } = new();

    /// <summary>cgroup limits of the worker's RUN steps.</summary>
    public Worker.Execution.ContainerLimits RunLimits { get; init; } = Worker.Execution.ContainerLimits.Default;

    /// <summary>Entitlements builds may ask for (serve: only those given with --allow-insecure-entitlement).</summary>
    public IReadOnlyCollection<string> EntitlementsAllowed { get; init; } = Coordinator.Builds.Entitlements.Known;

    /// <summary>Builds may import caches (--cache-from): their records enter this store, which every build trusts, so a
    /// host allows it only when told (--allow-cache-import); the embedded engine is its user's own.</summary>
    public bool CacheImportAllowed { get; init; } = true;

    /// <summary>Extracted layer snapshots the worker keeps (<c>--snapshot-cache-mb</c>); null: the snapshotter's default (16 GiB).</summary>
    public long? SnapshotCacheBytes { get; init; }

    /// <summary>Steps the worker runs at once (<c>--slots</c>, BUILDFARM_SLOTS); by default what the machine can hold.</summary>
    public int WorkerSlots { get; init; } = Worker.Capacity.WorkerCapacity.DefaultSlots();

    /// <summary>The store is shared by the nodes of a farm (a worker host): the worker reads it through its local blob
    /// cache even when it is a folder, which may be a network mount. False: a folder store is this machine's own.</summary>
    public bool StoreIsShared { get; init; }

    /// <summary>Metrics and traces of this process (hosts with --metrics-listen or --otlp-endpoint); null: none.</summary>
    public Coordinator.Telemetry.FarmTelemetry? Telemetry { get; init; }
}
