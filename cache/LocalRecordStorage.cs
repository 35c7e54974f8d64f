using BuildFarm.Oci.FileSystem;
using BuildFarm.Oci.Native;

namespace BuildFarm.Cache;

/// <summary>Record storage in the cache folder; writes are temp file + rename like blobs.</summary>
public sealed class LocalRecordStorage : IRecordStorage
{
    private readonly string _base;

    public LocalRecordStorage(string root, string? ns = null) => _base = Path.Combine(Path.GetFullPath(root), StoreLayout.Prefix(ns));

    public string Location => $"local folder {_base}";

    private string PathOf(string name)
    {
        if (name.Contains("..", StringComparison.Ordinal)) throw new ArgumentException($"invalid object name '{name}'");
        return Path.Combine(_base, name);
    }

    public async Task PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        var ingest = Path.Combine(_base, StoreLayout.Ingest);
        Directory.CreateDirectory(ingest);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(ingest, $"{Guid.NewGuid():N}.tmp");
        try
        {
            await File.WriteAllBytesAsync(temp, data.ToArray(), cancellationToken);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public async Task<byte[]?> GetAsync(string name, CancellationToken cancellationToken)
    {
        try { return await File.ReadAllBytesAsync(PathOf(name), cancellationToken); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        try { File.Delete(PathOf(name)); }
        catch (DirectoryNotFoundException) { }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        // Prefixes are folder names ending in '/', so the folder is the prefix.
        var dir = PathOf(prefix);
        var result = new List<StoredObject>();
        // lstat walk: a symlinked folder inside the cache is listed as nothing, never followed.
        foreach (var entry in FileTree.Walk(dir, cancellationToken))
        {
            if (entry.Status.Type != FileStatus.Regular) continue;
            var name = Path.GetRelativePath(_base, entry.FullPath).Replace(Path.DirectorySeparatorChar, '/');
            var modified = DateTimeOffset.FromUnixTimeSeconds(entry.Status.ModificationSeconds).AddTicks(entry.Status.ModificationNanoseconds / 100);
            result.Add(new StoredObject(name, entry.Status.Size, modified));
        }
        return Task.FromResult<IReadOnlyList<StoredObject>>(result);
    }
}
