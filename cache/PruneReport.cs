namespace BuildFarm.Cache;

public sealed record PruneReport(
    int RecordsRemoved, int RecordsKept,
    int BlobsRemoved, long BytesRemoved,
    int BlobsKept, long BytesKept,
    bool DryRun);
