namespace BuildFarm.Cache;

/// <summary>What a cache holds (<c>buildfarm cache du</c>).</summary>
public sealed record CacheUsage(
    string Location,
    int Blobs, long BlobBytes,
    int Records, long RecordBytes,
    int ReferencedBlobs, long ReferencedBytes,
    DateTimeOffset? OldestUse, DateTimeOffset? NewestUse);
