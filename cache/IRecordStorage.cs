namespace BuildFarm.Cache;

/// <summary>Small named objects beside the blobs (step records, use markers, index entries); names are relative to
/// the namespace prefix and use '/' as separator.</summary>
public interface IRecordStorage
{
    string Location { get; }
    Task PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);
    Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken);
    Task DeleteAsync(string name, CancellationToken cancellationToken);
    Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken);
}
