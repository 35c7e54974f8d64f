namespace BuildFarm.Cache;

/// <summary>One cache: its blobs and its step records in the same folder or bucket (and namespace).</summary>
public sealed class SharedCache(IContentStore blobs, IStepRecordIndex records, IDisposable? owner = null) : IDisposable
{
    public IContentStore Blobs { get; } = blobs;
    public IStepRecordIndex Records { get; } = records;
    public string Location => Blobs.Location;

    public void Dispose() => owner?.Dispose();
}
