namespace BuildFarm.Cache;

/// <summary>Record storage in the same bucket and namespace as the S3 blobs.</summary>
public sealed class S3RecordStorage(S3Connection connection) : IRecordStorage
{
    public string Location => connection.Location;

    public Task PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        connection.PutBytesAsync(name, data, name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "application/octet-stream", cancellationToken);

    public Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken) => connection.GetBytesAsync(name, cancellationToken);

    public Task DeleteAsync(string name, CancellationToken cancellationToken) => connection.DeleteAsync(name, cancellationToken);

    public Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken) => connection.ListAsync(prefix, cancellationToken);
}
