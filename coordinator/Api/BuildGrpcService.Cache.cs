using BuildFarm.Cache;
using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Oci;
using BuildFarm.Protos.V1;
using Grpc.Core;
using PruneOptions = BuildFarm.Cache.PruneOptions;

namespace BuildFarm.Coordinator.Api;

/// <summary><c>cache du|prune --server</c>: the shared cache is every team's, so only an admin token may measure or
/// prune it. A prune keeps the server's named images and whatever a running build leases (<see cref="Registry.BuildLeases"/>),
/// and every blob stored since the oldest running build started (its layers and pulled bases before their records exist).</summary>
public sealed partial class BuildGrpcService
{
    /// <summary>The store with its step records; without it the cache calls are unavailable.</summary>
    public SharedCache? Cache { get; init; }

    public override async Task<CacheUsageResponse> CacheUsage(CacheUsageRequest request, ServerCallContext context)
    {
        var cache = AdminCache(context, "cache du");
        var usage = await new CachePruner(cache).MeasureAsync(context.CancellationToken);
        return new CacheUsageResponse
        {
            Location = usage.Location, Blobs = usage.Blobs, BlobBytes = usage.BlobBytes, Records = usage.Records,
            RecordBytes = usage.RecordBytes, ReferencedBlobs = usage.ReferencedBlobs, ReferencedBytes = usage.ReferencedBytes,
            OldestUseUnixMs = usage.OldestUse?.ToUnixTimeMilliseconds() ?? 0,
            NewestUseUnixMs = usage.NewestUse?.ToUnixTimeMilliseconds() ?? 0,
        };
    }

    public override async Task<PruneCacheResponse> PruneCache(PruneCacheRequest request, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var cache = AdminCache(context, "cache prune");
        if (!request.HasMaxAgeSeconds && !request.HasMaxTotalBytes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "say what to prune: --keep-duration, --keep-storage or --all"));
        if (request.MaxAgeSeconds < 0 || request.MaxTotalBytes < 0 || request.GraceSeconds < 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "durations and sizes of a prune cannot be negative"));
        var roots = new List<Digest>();
        foreach (var keep in request.Keep)
            roots.Add(Digest.TryParse(keep, out var d) ? d : throw new RpcException(new Status(StatusCode.InvalidArgument, $"--keep {keep}: not a digest")));
        foreach (var image in await images.ListAsync(cancellationToken)) roots.Add(Digest.Parse(image.RootDigest)); // an index keeps every platform

        var now = DateTimeOffset.UtcNow;
        var grace = TimeSpan.FromSeconds(request.HasGraceSeconds ? request.GraceSeconds : 3600);
        var running = Builds.Unfinished();
        foreach (var build in running)
        {
            foreach (var digest in build.Leases.BlobDigests)
                if (Digest.TryParse(digest, out var d)) roots.Add(d);
            // Read before the prune drops them: a record's layers are the running build's image layers.
            foreach (var key in build.Leases.StepKeys)
                if (await cache.Records.GetAsync(key, cancellationToken) is { } record) roots.AddRange(record.ReferencedBlobs);
            // Blobs written since it started may not have a record yet (a layer between upload and record, a pulled base).
            var age = now - build.Started + TimeSpan.FromMinutes(1);
            if (age > grace) grace = age;
        }
        var report = await new CachePruner(cache, new PruneRoots(roots)).PruneAsync(new PruneOptions
        {
            MaxAge = request.HasMaxAgeSeconds ? TimeSpan.FromSeconds(request.MaxAgeSeconds) : null,
            MaxTotalBytes = request.HasMaxTotalBytes ? request.MaxTotalBytes : null,
            UnreferencedGrace = grace,
            DryRun = request.DryRun,
            Now = now,
        }, cancellationToken);
        return new PruneCacheResponse
        {
            RecordsRemoved = report.RecordsRemoved, RecordsKept = report.RecordsKept, BlobsRemoved = report.BlobsRemoved,
            BytesRemoved = report.BytesRemoved, BlobsKept = report.BlobsKept, BytesKept = report.BytesKept, DryRun = report.DryRun,
            RunningBuilds = running.Count,
        };
    }

    private SharedCache AdminCache(ServerCallContext context, string what)
    {
        var caller = TokenInterceptor.CallerOf(context);
        if (!caller.IsAdmin)
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"{what} on the farm needs an admin token (\"TOKEN TEAM admin\" in the coordinator's tokens file); the token of team \"{caller.Team}\" is not one"));
        return Cache ?? throw new RpcException(new Status(StatusCode.Unimplemented, "this server has no cache to measure or prune"));
    }
}
