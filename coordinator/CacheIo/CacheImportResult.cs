namespace BuildFarm.Coordinator.CacheIo;

/// <summary>What a cache import brought: layer blobs, records written, records already present, records of other
/// builders (BuildKit's LLB keys) whose layers were imported but whose keys the farm does not use.</summary>
public sealed record CacheImportResult(int Layers, int RecordsImported, int RecordsPresent, int RecordsForeign)
{
    /// <summary>Of the records imported, those found under BuildKit's own cache keys (BuildKitKeys/).</summary>
    public int BuildKitMatched { get; init; }
}
