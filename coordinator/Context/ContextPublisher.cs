using BuildFarm.Cache;
using BuildFarm.Cache.Context;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// Puts a walked build context into the content store so that a worker on any machine can materialize it: every
/// regular file's content the store lacks (asked with Exists first, distinct digests in parallel with a bound, each
/// put verified against the digest the walk computed), then the manifest. A rebuild with nothing changed costs one
/// Exists per distinct file content plus one for the manifest.
/// </summary>
public sealed class ContextPublisher(IContentStore store, int parallelism = 16)
{
    /// <param name="root">The context folder the entries are relative to.</param>
    /// <param name="entries">From <see cref="ContextWalker"/>: files already hashed, parents listed.</param>
    /// <param name="rootPermissions">The root's permission bits when <paramref name="root"/>'s own do not belong to the
    /// context (a served upload lives in a private 0700 folder; the client's folder mode is not sent).</param>
    public async Task<ContextPublication> PublishAsync(string root, IReadOnlyList<ContextEntry> entries, CancellationToken cancellationToken,
        int? rootPermissions = null)
    {
        var manifest = BuildManifest(root, entries, rootPermissions);

        // One upload per distinct content; several files with the same bytes share a blob.
        var byDigest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
            if (entry.Kind == ContextEntryKind.File) byDigest.TryAdd(entry.Sha256!, entry.Path);

        var present = 0;
        var uploaded = 0;
        long bytes = 0;
        await Parallel.ForEachAsync(byDigest, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (pair, token) =>
            {
                var digest = Digest.Parse(pair.Key);
                if (await store.ExistsAsync(digest, token))
                {
                    Interlocked.Increment(ref present);
                    return;
                }
                var path = Path.Combine(root, pair.Value);
                await using (var file = new FileStream(path, new FileStreamOptions
                             {
                                 Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read,
                                 Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
                             }))
                {
                    try { await store.PutAsync(file, digest, token); }
                    catch (DigestMismatchException)
                    {
                        throw new IOException($"build context: '{pair.Value}' changed while the build was reading it (expected {digest}); run the build again");
                    }
                    Interlocked.Add(ref bytes, file.Length);
                }
                Interlocked.Increment(ref uploaded);
            });

        var manifestDigest = await manifest.PutAsync(store, cancellationToken);
        return new ContextPublication(manifestDigest, present, uploaded, bytes);
    }

    /// <summary>The manifest of a walked context; owner and mtime come from lstat (the walk keeps no times, on purpose:
    /// cache keys must not see them, but COPY keeps them in the layer).</summary>
    public static ContextManifest BuildManifest(string root, IReadOnlyList<ContextEntry> entries, int? rootPermissions = null)
    {
        var list = new ContextManifestEntry[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Kind == ContextEntryKind.File && entry.Sha256 is null)
                throw new ArgumentException($"build context: '{entry.Path}' was not hashed", nameof(entries));
            var status = Stat(Path.Combine(root, entry.Path), entry.Path);
            if ((status.Mode & FileStatus.TypeMask) != (entry.Mode & FileStatus.TypeMask))
                throw new IOException($"build context: '{entry.Path}' changed type while the build was reading it; run the build again");
            list[i] = new ContextManifestEntry(entry.Path, entry.Mode, entry.Kind == ContextEntryKind.File ? entry.Size : 0,
                entry.Sha256, entry.LinkTarget, (int)status.Uid, (int)status.Gid, status.ModificationSeconds, (int)status.ModificationNanoseconds);
        }
        // The root may be given through a symlink; its own metadata is that of the directory it names.
        var info = new DirectoryInfo(root);
        var top = Stat(info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName, ".");
        var rootEntry = new ContextManifestEntry(".", (int)FileStatus.Directory | (rootPermissions ?? (int)top.Permissions), 0, null, null, (int)top.Uid, (int)top.Gid,
            top.ModificationSeconds, (int)top.ModificationNanoseconds);
        return new ContextManifest(rootEntry, list, $"build context {root}");
    }

    private static FileStatus Stat(string path, string contextPath)
    {
        if (!Posix.TryLStat(path, out var status))
            throw new IOException($"build context: '{contextPath}' disappeared while the build was reading it; run the build again");
        return status;
    }
}
