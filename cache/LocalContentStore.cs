using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>A content store in a folder: <c>&lt;root&gt;/[ns/&lt;team&gt;/]blobs/sha256/&lt;hex&gt;</c>. Writes go to a
/// unique temp file under <c>ingest/</c> and are renamed into place once verified; rename(2) is atomic, so readers
/// and concurrent writers (other processes too) only ever see whole blobs. No fsync: a blob damaged by a crash
/// fails verification on read and is removed, which is the right outcome for a cache.</summary>
public sealed class LocalContentStore : IContentStore
{
    private readonly string _base;
    private readonly ConcurrentDictionary<Digest, BlobIngest> _ingests = new();

    public LocalContentStore(string root, string? ns = null)
    {
        Root = Path.GetFullPath(root);
        _base = Path.Combine(Root, StoreLayout.Prefix(ns));
    }

    public string Root { get; }

    public string Location => $"local folder {_base}";

    /// <summary>Where a blob lives (or would live); workers may read the file directly.</summary>
    public string GetBlobPath(Digest digest) => Path.Combine(_base, StoreLayout.BlobName(digest));

    /// <summary>Where writes in progress live (same filesystem as the blobs, so the final rename is atomic).</summary>
    public string IngestDirectory => Path.Combine(_base, StoreLayout.Ingest);

    public Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken = default) =>
        Task.FromResult(File.Exists(GetBlobPath(digest)));

    public Task<long?> GetSizeAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(GetBlobPath(digest));
        return Task.FromResult<long?>(info.Exists ? info.Length : null);
    }

    /// <summary>
    /// Announces a blob that is about to be put here (a base image layer whose download starts), so that
    /// <see cref="OpenAsync"/> of this store can read it while it is written instead of finding nothing. The first
    /// announcer owns the ingest (<c>Owner</c>): it must put the blob, or <see cref="BlobIngest.Fail"/> it when it cannot.
    /// Others get the same ingest to wait on. Ends (and is forgotten) when the put commits or fails.
    /// </summary>
    public (BlobIngest Ingest, bool Owner) Announce(Digest digest)
    {
        var mine = new BlobIngest(digest, ended => _ingests.TryRemove(new KeyValuePair<Digest, BlobIngest>(ended.Digest, ended)));
        var ingest = _ingests.GetOrAdd(digest, mine);
        return (ingest, ReferenceEquals(ingest, mine));
    }

    public Task<Stream> OpenAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        var path = GetBlobPath(digest);
        // Announced and not yet committed: follow the write (a committed ingest is forgotten only after its rename).
        if (_ingests.TryGetValue(digest, out var ingest) && !File.Exists(path))
            return Task.FromResult<Stream>(new IngestReadStream(ingest, path));
        FileStream file;
        try
        {
            file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan, BufferSize = 0,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(digest, Location);
        }
        return Task.FromResult<Stream>(new VerifyingReadStream(file, digest, file.Length, Location, _ =>
        {
            // Remove the bad file only if it is still the one we read: a writer may have renamed a good copy over it.
            try
            {
                var now = new FileInfo(path);
                if (now.Exists && now.Length == file.Length) File.Delete(path);
            }
            catch (IOException) { }
            return Task.CompletedTask;
        }));
    }

    public async Task<Digest> PutAsync(Stream content, Digest? expected = null, CancellationToken cancellationToken = default)
    {
        if (expected is { } known && File.Exists(GetBlobPath(known)))
        {
            if (_ingests.TryGetValue(known, out var announcedHere)) announcedHere.Succeeded(); // put by another process
            return known; // put-if-absent
        }
        var ingest = expected is { } announced && _ingests.TryGetValue(announced, out var found) && found.TryClaim() ? found : null;
        try
        {
            var (temp, digest) = await WriteTempAsync(content, expected, cancellationToken, ingest);
            await CommitAsync(temp, digest);
            ingest?.Succeeded();
            return digest;
        }
        catch (Exception e)
        {
            ingest?.Fail(e);
            throw;
        }
    }

    /// <summary>Streams <paramref name="content"/> into a temp file under ingest/ while hashing; the caller commits it.</summary>
    internal async Task<(string Path, Digest Digest)> WriteTempAsync(Stream content, Digest? expected, CancellationToken cancellationToken,
        BlobIngest? ingest = null)
    {
        Directory.CreateDirectory(IngestDirectory);
        // The writer's pid in the name: a restarted process can tell a dead writer's leftover from a live write.
        var temp = Path.Combine(IngestDirectory, $"{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            using var hashing = new HashingReadStream(content, expected, null, Location);
            if (ingest is null)
            {
                await using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                await hashing.CopyToAsync(file, 1 << 20, cancellationToken);
            }
            else await WriteReportingAsync(hashing, temp, ingest, cancellationToken);
            return (temp, hashing.Digest);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes in whole chunks, each readable by another handle once reported (unbuffered writes), so that a
    /// reader following the ingest wakes once per chunk, not once per network read.</summary>
    private static async Task WriteReportingAsync(Stream content, string temp, BlobIngest ingest, CancellationToken cancellationToken)
    {
        const int chunk = 1 << 20;
        using var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        ingest.Started(temp);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            long written = 0;
            while (true)
            {
                var n = await content.ReadAtLeastAsync(buffer.AsMemory(0, chunk), chunk, throwOnEndOfStream: false, cancellationToken);
                if (n == 0) break;
                RandomAccess.Write(file, buffer.AsSpan(0, n), written); // page cache: no need to leave the thread
                written += n;
                ingest.Advanced(written);
                if (n < chunk) break;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal Task CommitAsync(string temp, Digest digest)
    {
        var final = GetBlobPath(digest);
        try
        {
            if (File.Exists(final)) { TryDelete(temp); return Task.CompletedTask; }
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            // Same bytes whoever wins: replacing an identical blob atomically is harmless to its readers.
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return Task.CompletedTask;
    }

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken = default)
    {
        TryDelete(GetBlobPath(digest));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var blobs = Path.Combine(_base, StoreLayout.Blobs);
        if (!Directory.Exists(blobs)) yield break;
        foreach (var algorithmDir in Directory.EnumerateDirectories(blobs))
        foreach (var file in Directory.EnumerateFiles(algorithmDir))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!Digest.TryParse($"{Path.GetFileName(algorithmDir)}:{Path.GetFileName(file)}", out var digest)) continue;
            var info = new FileInfo(file);
            if (!info.Exists) continue; // deleted while listing
            yield return new BlobInfo(digest, info.Length, info.LastWriteTimeUtc);
        }
        await Task.CompletedTask;
    }

    /// <summary>Removes temp files older than <paramref name="olderThan"/> left by writers that died mid-write.</summary>
    public int RemoveStaleIngest(TimeSpan olderThan)
    {
        if (!Directory.Exists(IngestDirectory)) return 0;
        var removed = 0;
        foreach (var file in new DirectoryInfo(IngestDirectory).EnumerateFiles())
            if (file.LastWriteTimeUtc < DateTime.UtcNow - olderThan) { TryDelete(file.FullName); removed++; }
        return removed;
    }

    /// <summary>Removes the temp files of writers that no longer run (named <c>{pid}-…</c>), whatever their age; for a
    /// process starting on a folder it owns. Returns how many were removed.</summary>
    public int RemoveDeadWritersIngest()
    {
        if (!Directory.Exists(IngestDirectory)) return 0;
        var removed = 0;
        foreach (var file in new DirectoryInfo(IngestDirectory).EnumerateFiles())
        {
            var dash = file.Name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(file.Name.AsSpan(0, dash), System.Globalization.NumberStyles.None, null, out var pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            TryDelete(file.FullName);
            removed++;
        }
        return removed;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
