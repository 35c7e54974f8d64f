using System.Security.Cryptography;
using System.Text;
using BuildFarm.Cache;
using BuildFarm.Cache.Context;
using BuildFarm.Oci;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Context;

/// <summary>
/// Rebuilds a published build context on this worker: reads the manifest by digest, fetches the selected files'
/// blobs through <paramref name="blobs"/> (the worker's local blob cache in front of the shared store) and writes a
/// folder <c>Root/&lt;manifest hex&gt;/&lt;selection&gt;/tree</c>. A finished folder is immutable and reused by every step
/// and build with the same manifest (the whole context serves any selection); concurrent callers for the same folder
/// share one materialization. A tree is built under <c>Root/tmp</c> and renamed into place, so a crash leaves no
/// half-written context. Nothing is written outside the tree: the manifest is validated (clean relative paths,
/// parents listed and directories, no duplicates), the tree is fresh and private, and files are created with
/// O_CREAT|O_EXCL, which never follows a symlink.
/// </summary>
public sealed class ContextMaterializer(IContentStore blobs, ContextMaterializerOptions options)
{
    private const string All = "all";
    private const string TreeName = "tree";
    private const string SizeName = "size";

    private readonly object _gate = new();
    private readonly Dictionary<string, Task> _building = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _leases = new(StringComparer.Ordinal);
    private readonly string _root = Path.GetFullPath(options.Root);
    // trees a dead process was building or evicting ({pid}-…, evicted-{pid}-…)
    private readonly string _swept = Snapshots.CrashLeftovers.Swept(Path.Combine(Path.GetFullPath(options.Root), "tmp"));

    /// <summary>A folder holding the entries <paramref name="sources"/> select (all when null), leased until disposed.
    /// Throws <see cref="InvalidContextManifestException"/> naming the entry when the manifest is unsafe or wrong.</summary>
    public async Task<ContextLease> MaterializeAsync(Digest manifestDigest, IReadOnlyList<string>? sources, CancellationToken cancellationToken)
    {
        var manifest = await ContextManifest.ReadAsync(blobs, manifestDigest, cancellationToken);
        var selected = ContextSelector.Select(manifest, sources);
        var full = manifestDigest.Hex + "/" + All;
        var key = selected is null ? full : manifestDigest.Hex + "/" + SelectionKey(selected);
        while (true)
        {
            Task pending;
            lock (_gate)
            {
                if ((TryLease(full) ?? TryLease(key)) is { } lease) return lease;
                if (!_building.TryGetValue(key, out pending!))
                {
                    // Shared by every caller of this key: one caller's cancellation does not stop the others' work.
                    pending = Task.Run(() => BuildAsync(manifestDigest, manifest, selected, key), CancellationToken.None);
                    _building[key] = pending;
                }
            }
            await pending.WaitAsync(cancellationToken);
            // Built (or found built by another process): lease it on the next turn; evicted meanwhile: build again.
        }
    }

    /// <summary>File bytes of the materialized contexts on disk now.</summary>
    public long SizeOnDisk() => ListTrees().Sum(t => t.Size);

    /// <summary>Removes least recently used contexts not in use until at most <paramref name="maxBytes"/> remain.</summary>
    public long Prune(long maxBytes) => Evict(maxBytes, keep: null);

    private ContextLease? TryLease(string key)
    {
        var folder = Path.Combine(_root, key);
        if (!Directory.Exists(Path.Combine(folder, TreeName))) return null;
        _leases[key] = _leases.GetValueOrDefault(key) + 1;
        try { Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow); } // last use, for eviction; the tree's own times stay
        catch (IOException) { }
        return new ContextLease(Path.Combine(folder, TreeName), () =>
        {
            lock (_gate)
                if (--_leases[key] == 0) _leases.Remove(key);
        });
    }

    private async Task BuildAsync(Digest manifestDigest, ContextManifest manifest, IReadOnlyList<ContextManifestEntry>? selected, string key)
    {
        var temp = Path.Combine(_root, "tmp", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var entries = selected ?? manifest.Entries;
            Directory.CreateDirectory(Path.Combine(temp, TreeName));
            await WriteTreeAsync(manifestDigest, manifest.Root, entries, Path.Combine(temp, TreeName));
            await File.WriteAllTextAsync(Path.Combine(temp, SizeName), entries.Where(e => e.IsRegularFile).Sum(e => e.Size).ToString());
            var final = Path.Combine(_root, key);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            try { Directory.Move(temp, final); }
            catch (IOException) when (Directory.Exists(Path.Combine(final, TreeName))) { } // another process finished first
            Evict(options.CapacityBytes, keep: key);
        }
        finally
        {
            if (Directory.Exists(temp)) TreeRemover.Remove(temp);
            lock (_gate) _building.Remove(key);
        }
    }

    private async Task WriteTreeAsync(Digest manifestDigest, ContextManifestEntry root, IReadOnlyList<ContextManifestEntry> entries, string tree)
    {
        var source = $"context manifest {manifestDigest}";
        var privileged = Environment.IsPrivilegedProcess;
        foreach (var entry in entries)
        {
            var physical = tree + "/" + entry.Path;
            if (LinuxNative.LStat(physical) is not null)
                throw new InvalidContextManifestException($"{source}: entry '{entry.Path}' already exists in the tree");
            if (entry.IsDirectory) Directory.CreateDirectory(physical);
            else if (entry.IsSymlink)
            {
                File.CreateSymbolicLink(physical, entry.LinkTarget!);
                ApplyMetadata(physical, entry, privileged, isSymlink: true);
            }
        }

        await Parallel.ForEachAsync(entries.Where(e => e.IsRegularFile),
            new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism }, async (entry, token) =>
            {
                var physical = tree + "/" + entry.Path;
                var digest = Digest.Parse(entry.Digest!);
                Stream blob;
                try { blob = await blobs.OpenAsync(digest, token); }
                catch (BlobNotFoundException e)
                {
                    throw new FileNotFoundException($"{source}: entry '{entry.Path}': its content {digest} is not in {blobs.Location}", entry.Path, e);
                }
                long written;
                await using (blob)
                await using (var file = new FileStream(physical, new FileStreamOptions
                             {
                                 // CreateNew is O_CREAT|O_EXCL: it fails on any existing name, a symlink included.
                                 Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None,
                                 Options = FileOptions.Asynchronous,
                             }))
                {
                    await blob.CopyToAsync(file, 1 << 20, token);
                    written = file.Length;
                }
                if (written != entry.Size)
                    throw new InvalidContextManifestException($"{source}: entry '{entry.Path}' says {entry.Size} bytes, its content {digest} has {written}");
                ApplyMetadata(physical, entry, privileged, isSymlink: false);
            });

        // Directories last, deepest first: creating their children moved their mtimes.
        foreach (var entry in entries.Where(e => e.IsDirectory).Reverse())
            ApplyMetadata(tree + "/" + entry.Path, entry, privileged, isSymlink: false);
        ApplyMetadata(tree, root, privileged, isSymlink: false);
    }

    private static void ApplyMetadata(string path, ContextManifestEntry entry, bool privileged, bool isSymlink)
    {
        if (privileged) LinuxNative.LchownOrThrow(path, entry.Uid, entry.Gid); // before chmod: chown clears setuid bits
        if (!isSymlink) LinuxNative.ChmodOrThrow(path, (uint)entry.Permissions);
        LinuxNative.SetTimesNoFollow(path, entry.MtimeSeconds, entry.MtimeNanoseconds);
    }

    private static string SelectionKey(IReadOnlyList<ContextManifestEntry> selected)
    {
        var joined = string.Join('\n', selected.Select(e => e.Path));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(joined)))[..32];
    }

    private long Evict(long maxBytes, string? keep)
    {
        var victims = new List<string>();
        long freed = 0;
        lock (_gate)
        {
            var trees = ListTrees();
            var total = trees.Sum(t => t.Size);
            foreach (var tree in trees.OrderBy(t => t.LastUse))
            {
                if (total <= maxBytes) break;
                if (tree.Key == keep || _leases.ContainsKey(tree.Key) || _building.ContainsKey(tree.Key)) continue;
                // Renamed away under the lock, so no caller can lease a tree that is being deleted.
                var trash = Path.Combine(_root, "tmp", $"evicted-{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(Path.GetDirectoryName(trash)!);
                try { Directory.Move(Path.Combine(_root, tree.Key), trash); }
                catch (IOException) { continue; }
                victims.Add(trash);
                total -= tree.Size;
                freed += tree.Size;
            }
        }
        foreach (var victim in victims) TreeRemover.Remove(victim);
        return freed;
    }

    private List<(string Key, long Size, DateTime LastUse)> ListTrees()
    {
        var result = new List<(string, long, DateTime)>();
        if (!Directory.Exists(_root)) return result;
        foreach (var manifestDir in Directory.EnumerateDirectories(_root))
        {
            var hex = Path.GetFileName(manifestDir);
            if (hex == "tmp") continue;
            foreach (var selectionDir in Directory.EnumerateDirectories(manifestDir))
            {
                var sizeFile = Path.Combine(selectionDir, SizeName);
                if (!File.Exists(sizeFile)) continue;
                long.TryParse(File.ReadAllText(sizeFile), out var size);
                result.Add((hex + "/" + Path.GetFileName(selectionDir), size, Directory.GetLastWriteTimeUtc(selectionDir)));
            }
        }
        return result;
    }
}
