using System.Collections.Concurrent;
using System.Security.Cryptography;
using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The file outputs of served builds, kept in one folder until their client has read them (<c>ReleaseExport</c>) or
/// they expire: a client whose stream broke reads again from an offset. Ids are random, so one client cannot guess
/// another's file.
/// </summary>
public sealed class ServedExports(string directory, TimeProvider time, TimeSpan keep)
{
    private readonly ConcurrentDictionary<string, Kept> _files = new(StringComparer.Ordinal);

    private sealed record Kept(string Path, long Size, string Team, DateTimeOffset Expires);

    /// <summary>A fresh id and the path the build writes that output to; not readable until <see cref="KeepAsync"/>.</summary>
    public (string Id, string Path) Reserve()
    {
        Directory.CreateDirectory(directory);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        return (id, Path.Combine(directory, id));
    }

    /// <summary>Makes a written output readable (by <paramref name="team"/>); returns its size and digest for the client to check.</summary>
    public async Task<(long Size, Digest Digest)> KeepAsync(string id, string team, CancellationToken cancellationToken)
    {
        Sweep();
        var path = Path.Combine(directory, id);
        Digest digest;
        await using (var file = File.OpenRead(path))
            digest = Digest.FromSha256Bytes(await SHA256.HashDataAsync(file, cancellationToken));
        var size = new FileInfo(path).Length;
        _files[id] = new Kept(path, size, team, time.GetUtcNow() + keep);
        return (size, digest);
    }

    /// <summary>The file to read from and the team whose build made it, or null when the id is unknown or expired.</summary>
    public (string Path, long Size, string Team)? Find(string id)
    {
        Sweep();
        return _files.TryGetValue(id, out var kept) ? (kept.Path, kept.Size, kept.Team) : null;
    }

    /// <summary>Deletes an output (read by its client, or of a build that failed); unknown ids are ignored.</summary>
    public void Release(string id)
    {
        if (id.Length == 0 || id.Contains('/') || id.Contains("..")) return;
        _files.TryRemove(id, out _);
        File.Delete(Path.Combine(directory, id));
    }

    // A reader that already opened a file keeps reading it after the delete (an open handle outlives the unlink).
    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (id, kept) in _files)
            if (kept.Expires < now) Release(id);
    }
}
