using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.FileSystem;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Snapshots;

/// <summary>
/// Layers live in <c>{root}/layers/{diffid hex}</c>, extracted once (a lock file serialises extractions
/// across processes); chains are stacked with overlayfs through short symlinks <c>{root}/l/{12 hex}</c>, one
/// <c>lowerdir+</c> per layer with the new mount API (Linux 6.8+), else in one mount(2) option string, which the
/// short links help fit in one page. Chains that still do not fit (or exceed 500 layers) are flattened by copying. Mounts live in <c>{root}/mnt/{pid}-{n}</c>, so a restarted worker can unmount
/// whatever a crashed process left behind.
/// Extracted layers are a size-capped LRU cache (<see cref="SnapshotterOptions.CapacityBytes"/>): past the cap, the least
/// recently used layers that no mount leases are removed, and extracted again from the blob store when next needed.
/// </summary>
public sealed class OverlaySnapshotter : ISnapshotter
{
    private readonly IContentStore _store;
    private readonly ILayerUnpacker _unpacker;
    private readonly SnapshotterOptions _options;
    private readonly string _layers, _links, _mounts, _empty, _emptyBelow;
    private int _counter;
    private readonly SemaphoreSlim _pruneGate = new(1, 1);
    private readonly LayerIndex _index;

    public OverlaySnapshotter(IContentStore store, ILayerUnpacker unpacker, SnapshotterOptions options)
    {
        _store = store;
        _unpacker = unpacker;
        _options = options;
        _layers = Path.Combine(options.Root, "layers");
        _links = Path.Combine(options.Root, "l");
        _mounts = Path.Combine(options.Root, "mnt");
        _empty = Path.Combine(options.Root, "empty");
        _emptyBelow = Path.Combine(options.Root, "empty2");
        foreach (var dir in new[] { _layers, _links, _mounts, _empty, _emptyBelow }) Directory.CreateDirectory(dir);
        // Each extracted layer and each step's upper directory is its own hierarchy: spread them over the file system's
        // block groups, away from inodes just freed (see TopDirectoryFlag: a 4-8x faster cold unpack on ext4 here).
        TopDirectoryFlag.TrySet(_layers);
        TopDirectoryFlag.TrySet(_mounts);
        RecoverFromCrashedProcesses();
        _index = new LayerIndex(_layers);
        _index.Rescan();
    }

    /// <summary>Bytes of regular files in the extracted layers held here (a running total: no scan).</summary>
    public long LocalBytes => _index.Bytes;

    /// <summary>The diff ids of the layers held here, most recently used first.</summary>
    public IReadOnlyList<Digest> LayersByRecentUse() =>
        _index.ByRecentUse().Select(hex => Digest.Parse("sha256:" + hex)).ToList();

    public Task<ActiveSnapshot> PrepareAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken) =>
        MountAsync(chain, writable: true, cancellationToken);

    public Task<ActiveSnapshot> ViewAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken) =>
        MountAsync(chain, writable: false, cancellationToken);

    public bool HasLayer(Digest diffId) => Directory.Exists(LayerDirectory(diffId));

    /// <summary>The folder of an extracted layer (overlay form), extracting it first when needed. Not leased: a prune
    /// may remove it later (mounts lease their layers).</summary>
    public async Task<string> EnsureLayerAsync(LayerRef layer, CancellationToken cancellationToken)
    {
        var dir = LayerDirectory(layer.DiffId);
        if (Directory.Exists(dir)) return MarkUsed(dir);
        using var _ = await FileLock.AcquireAsync(dir + ".lock", cancellationToken);
        if (Directory.Exists(dir)) return MarkUsed(dir); // another thread or process extracted it while we waited
        var temp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            var watch = Stopwatch.StartNew();
            await using (var blob = await _store.OpenAsync(layer.Blob.ParsedDigest, cancellationToken))
                await UnpackWholeAsync(blob, layer, temp, cancellationToken);
            _options.Trace?.WriteLine($"trace: unpack {layer.Blob.Digest[..19]} ({layer.Blob.Size / 1048576.0:F1} MB) {watch.Elapsed.TotalMilliseconds:F0} ms");
            WriteSize(TreeSize(temp), dir);
            Directory.Move(temp, dir);
        }
        catch
        {
            TreeRemover.Remove(temp);
            throw;
        }
        EnsureShortLink(layer.DiffId, dir);
        return MarkUsed(dir);
    }

    /// <summary>
    /// Unpacks, then reads the blob to its very end, so that its verification (the store's digest check, or the end of a
    /// download it follows) has spoken before the layer is kept. When the unpack fails, the rest of the blob is read
    /// too: a broken source (a digest mismatch, a failed download) explains a broken unpack, and its error is the one
    /// to report, naming the layer.
    /// </summary>
    private async Task UnpackWholeAsync(Stream blob, LayerRef layer, string temp, CancellationToken cancellationToken)
    {
        try
        {
            await _unpacker.UnpackAsync(new KeptOpenStream(blob), layer, temp, cancellationToken);
        }
        catch (Exception unpack) when (unpack is not OperationCanceledException)
        {
            try { await blob.CopyToAsync(Stream.Null, cancellationToken); }
            catch (Exception source) when (source is not OperationCanceledException)
            {
                throw new InvalidDataException($"layer {layer.Blob.Digest} cannot be unpacked: {source.Message}", source);
            }
            throw;
        }
        await blob.CopyToAsync(Stream.Null, cancellationToken);
    }

    /// <summary>Extracts a layer when needed and leases it: no prune (here or in another process sharing the root)
    /// removes it until the lease is disposed.</summary>
    private async Task<LayerLease> AcquireLayerAsync(LayerRef layer, CancellationToken cancellationToken)
    {
        var dir = LayerDirectory(layer.DiffId);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lease = _index.TryLease(layer.DiffId.Hex);
            if (lease is not null)
            {
                if (Directory.Exists(dir))
                {
                    MarkUsed(dir);
                    return lease;
                }
                lease.Dispose();
            }
            else if (Directory.Exists(dir)) await Task.Delay(20, cancellationToken); // being pruned elsewhere: let it finish
            await EnsureLayerAsync(layer, cancellationToken);
        }
    }

    /// <summary>Prunes down to the configured capacity when the layers held exceed it.</summary>
    private async Task PruneToCapacityAsync(CancellationToken cancellationToken)
    {
        if (_index.Bytes > _options.CapacityBytes) await PruneAsync(_options.CapacityBytes, cancellationToken);
    }

    public Task SealAsync(ActiveSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (snapshot.CopiedFrom is { } lower)
        {
            if (!Directory.Exists(snapshot.UpperPath)) CopyDiff.WriteUpper(lower, snapshot.RootPath, snapshot.UpperPath!);
        }
        else Unmount(snapshot.RootPath);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Deletes extracted layers, least recently used first, until they take at most <paramref name="maxBytes"/>.
    /// Kept: layers leased by a mount of this process or of another process sharing the root (their lock is held
    /// shared), layers being extracted (lock held exclusively), and layers any overlay mount on this machine stacks
    /// (the mount table). Returns the bytes freed.
    /// </summary>
    public async Task<long> PruneAsync(long maxBytes, CancellationToken cancellationToken)
    {
        await _pruneGate.WaitAsync(cancellationToken);
        try
        {
            return PruneUnguarded(maxBytes, cancellationToken);
        }
        finally
        {
            _pruneGate.Release();
        }
    }

    private long PruneUnguarded(long maxBytes, CancellationToken cancellationToken)
    {
        _index.Rescan(); // layers other processes sharing the root added or removed
        HashSet<string>? mounted = null;
        long freed = 0;
        foreach (var (hex, size) in _index.UnleasedLeastRecentlyUsedFirst())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_index.Bytes <= maxBytes) break;
            var dir = Path.Combine(_layers, hex);
            // Exclusive: fails while any process leases (shared) or extracts it; a lease asked for meanwhile waits.
            using (var held = FileLock.TryAcquire(dir + ".lock"))
            {
                if (held is null || _index.IsLeased(hex) || (mounted ??= LayersInUse()).Contains(dir)) continue;
                var doomed = $"{dir}.del-{Environment.ProcessId}-{Guid.NewGuid():N}";
                try { Directory.Move(dir, doomed); }
                catch (DirectoryNotFoundException) { _index.Forget(hex); continue; } // pruned by another process
                _index.Forget(hex);
                File.Delete(ShortLinkOfDirectory(dir));
                File.Delete(dir + ".size");
                TreeRemover.Remove(doomed); // named .del-{pid}-…: a crash here is finished by the next start
            }
            freed += size;
        }
        return freed;
    }

    /// <summary>Layer folders that some overlay mount stacks, found through the lowerdir options in the mount table.</summary>
    private HashSet<string> LayersInUse()
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lower in MountTable.OverlayLowerDirs())
        {
            var target = LinuxNative.LStat(lower) is { IsSymlink: true } ? new FileInfo(lower).LinkTarget ?? lower : lower;
            used.Add(Path.TrimEndingDirectorySeparator(target));
        }
        return used;
    }

    /// <summary>Records a use of a layer: in the index, and as the lock file's mtime (the order pruning follows after a restart).</summary>
    private string MarkUsed(string dir)
    {
        var marker = dir + ".lock";
        try
        {
            if (!File.Exists(marker)) new FileStream(marker, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite).Dispose();
            File.SetLastWriteTimeUtc(marker, DateTime.UtcNow);
        }
        catch (IOException) { } // only a hint for pruning
        _index.Used(Path.GetFileName(dir), dir);
        return dir;
    }

    private static void WriteSize(long bytes, string layerDirectory) =>
        File.WriteAllText(layerDirectory + ".size", bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

    // lstat-only: a step's upper directory may hold symlinks to anywhere on the host (`ln -s / /x`).
    private static long TreeSize(string tree) => FileTree.RegularFileBytes(tree);

    /// <summary>The bytes of regular files a local layer holds (as recorded when it was committed or extracted); null when
    /// this worker has no such layer.</summary>
    public long? LocalLayerBytes(Digest diffId)
    {
        var dir = LayerDirectory(diffId);
        if (_index.SizeOfHeld(diffId.Hex) is { } known && Directory.Exists(dir)) return known;
        try { return Directory.Exists(dir) ? LayerIndex.SizeOf(dir) : null; }
        catch (IOException) { return null; } // pruned meanwhile
    }

    private string ShortLinkOfDirectory(string dir) => Path.Combine(_links, Path.GetFileName(dir)[..12]);

    public async Task CommitAsync(ActiveSnapshot snapshot, LayerRef layer, CancellationToken cancellationToken, long? regularFileBytes = null)
    {
        if (snapshot.UpperPath is null) throw new InvalidOperationException("a read-only view has no changes to commit");
        await SealAsync(snapshot, cancellationToken);
        var dir = LayerDirectory(layer.DiffId);
        // Held already (often: every `RUN true` gives the one empty layer): keep that one. Not locking then matters, as
        // running steps that stack it hold its lock shared until they end.
        if (!Directory.Exists(dir))
        {
            using (await FileLock.AcquireAsync(dir + ".lock", cancellationToken))
            {
                // The upper directory is already in overlay form: it can serve as this layer's lowerdir as it is.
                if (!Directory.Exists(dir))
                {
                    WriteSize(regularFileBytes ?? TreeSize(snapshot.UpperPath), dir);
                    Directory.Move(snapshot.UpperPath, dir);
                }
            }
        }
        if (Directory.Exists(dir))
        {
            EnsureShortLink(layer.DiffId, dir);
            MarkUsed(dir);
        }
        await snapshot.DisposeAsync();
        await PruneToCapacityAsync(cancellationToken);
    }

    private async Task<ActiveSnapshot> MountAsync(IReadOnlyList<LayerRef> chain, bool writable, CancellationToken cancellationToken)
    {
        // The chain's layers are leased from before they are found (or extracted) until the snapshot is released, so no
        // prune removes a layer between finding it and mounting it, nor under a running step.
        var leases = new List<LayerLease>();
        try
        {
            await ExtractMissingAsync(chain, cancellationToken);
            foreach (var layer in chain.DistinctBy(l => l.DiffId)) leases.Add(await AcquireLayerAsync(layer, cancellationToken));
            await PruneToCapacityAsync(cancellationToken);
            var snapshot = await MountUnguardedAsync(chain, writable, cancellationToken);
            snapshot.Leases = leases;
            return snapshot;
        }
        catch
        {
            foreach (var lease in leases) lease.Dispose();
            throw;
        }
    }

    /// <summary>Extracts the chain's missing layers side by side (a base image of several layers: each one's
    /// decompression and writes overlap the others'); leasing them afterwards finds them in place.</summary>
    private async Task ExtractMissingAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken)
    {
        var missing = chain.DistinctBy(l => l.DiffId).Where(l => !HasLayer(l.DiffId)).ToList();
        if (missing.Count < 2) return;
        await Parallel.ForEachAsync(missing,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount), CancellationToken = cancellationToken },
            async (layer, token) => await EnsureLayerAsync(layer, token));
    }

    private async Task<ActiveSnapshot> MountUnguardedAsync(IReadOnlyList<LayerRef> chain, bool writable, CancellationToken cancellationToken)
    {
        if (_options.CopyInsteadOfOverlay) return await CopyAsync(chain, writable, cancellationToken);
        try
        {
            return await OverlayAsync(chain, writable, cancellationToken);
        }
        catch (OverlayUnavailableException e)
        {
            Trace.TraceWarning($"overlay mount failed, copying the parent instead: {e.Message}");
            return await CopyAsync(chain, writable, cancellationToken);
        }
    }

    /// <summary>The fallback without overlay: a read-only view is the flattened chain itself; a writable snapshot is
    /// a copy of it, compared with it when sealed.</summary>
    private async Task<ActiveSnapshot> CopyAsync(IReadOnlyList<LayerRef> chain, bool writable, CancellationToken cancellationToken)
    {
        foreach (var layer in chain) await EnsureLayerAsync(layer, cancellationToken);
        var flat = await FlattenAsync(chain, chain.Count, cancellationToken);
        var work = Path.Combine(_mounts, $"{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}");
        Directory.CreateDirectory(work);
        if (!writable) return new ActiveSnapshot(flat, null, work, ReleaseAsync);
        var merged = Path.Combine(work, "m");
        var snapshot = new ActiveSnapshot(merged, Path.Combine(work, "u"), work, ReleaseAsync, copiedFrom: flat);
        try
        {
            Directory.CreateDirectory(merged);
            OverlayFlattener.ApplyLayer(flat, merged);
            var root = LinuxNative.LStat(flat)!.Value;
            EntryCopier.Apply(merged, false, EntryMetadata.From(root));
            return snapshot;
        }
        catch
        {
            await snapshot.DisposeAsync();
            throw;
        }
    }

    private async Task<ActiveSnapshot> OverlayAsync(IReadOnlyList<LayerRef> chain, bool writable, CancellationToken cancellationToken)
    {
        var dirs = await EnsureLayersAsync(chain, cancellationToken);
        var work = Path.Combine(_mounts, $"{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}");
        var merged = Path.Combine(work, "m");
        var upper = writable ? Path.Combine(work, "u") : null;
        var overlayWork = Path.Combine(work, "w");
        Directory.CreateDirectory(merged);
        if (upper is not null) { Directory.CreateDirectory(upper); Directory.CreateDirectory(overlayWork); }
        var snapshot = new ActiveSnapshot(merged, upper, work, ReleaseAsync);
        try
        {
            if (TryMountStack(merged, WithEmpty(StackedLowerDirs(chain, dirs), writable), upper, overlayWork)) return snapshot;
            // Too long: flatten the bottom in whole blocks, so the next steps of a long build reuse the same flat
            // folder and stack only their newer layers over it; flatten everything when even that does not fit.
            var block = chain.Count / FlattenBlock * FlattenBlock;
            foreach (var bottom in new[] { block, chain.Count }.Where(n => n > 0).Distinct())
            {
                var flat = await FlattenAsync(chain.Take(bottom).ToList(), chain.Count, cancellationToken);
                var lowers = StackedLowerDirs(chain.Skip(bottom).ToList(), dirs.Skip(bottom).ToList());
                lowers.Add(flat);
                if (TryMountStack(merged, WithEmpty(lowers, writable), upper, overlayWork)) return snapshot;
            }
            throw new OverlayUnavailableException($"a chain of {chain.Count} layers does not fit one overlay mount even flattened", null);
        }
        catch
        {
            await snapshot.DisposeAsync();
            throw;
        }
    }

    /// <summary>Mounts the stack (topmost first) with lowerdir+ where the kernel has it, else with mount(2); false
    /// when it is too long for either (over 500 layers, or mount(2)'s options over one page).</summary>
    private bool TryMountStack(string merged, IReadOnlyList<string> lowers, string? upper, string overlayWork)
    {
        if (lowers.Count > MaxLowerLayers) return false;
        try
        {
            if (!_options.MountSyscallOnly
                && OverlayMountApi.TryMount(merged, lowers, upper, upper is null ? null : overlayWork, NoHiddenChanges))
                return true;
            // mount(2): short links keep the one-page option string short (lowerdir+ takes the folders themselves)
            var lowerOption = string.Join(':', lowers.Select(d => Path.GetDirectoryName(d) == _layers ? ShortLinkOfDirectory(d) : d));
            var options = upper is null
                ? $"lowerdir={lowerOption}"
                : $"lowerdir={lowerOption},upperdir={upper},workdir={overlayWork},volatile"; // no syncfs at unmount (see OverlayMountApi)
            options += "," + string.Join(',', NoHiddenChanges.Select(o => $"{o.Key}={o.Value}"));
            if (options.Length > _options.MaxMountOptionsLength) return false;
            try
            {
                LinuxNative.MountOrThrow("overlay", merged, "overlay", upper is null ? LinuxNative.MsRdonly : 0, options);
            }
            catch (IOException) when (upper is not null)
            {
                // a kernel before 5.10 has no 'volatile': the mount syncs at unmount then, as it always did
                LinuxNative.MountOrThrow("overlay", merged, "overlay", 0, options.Replace(",volatile", "", StringComparison.Ordinal));
            }
            return true;
        }
        catch (IOException e)
        {
            throw new OverlayUnavailableException(e.Message, e);
        }
    }

    private List<string> WithEmpty(List<string> lowers, bool writable)
    {
        if (lowers.Count == 0) lowers.Add(_empty);
        // overlay without upper needs two lowerdirs, and refuses one folder twice
        if (!writable && lowers.Count == 1) lowers.Add(lowers[0] == _empty ? _emptyBelow : _empty);
        return lowers;
    }

    /// <summary>Layers flattened together when a chain is too long to stack: the bottom of the chain, a multiple of this.</summary>
    private const int FlattenBlock = 32;

    /// <summary>The kernel's overlay stack limit (OVL_MAX_STACK); longer chains are flattened.</summary>
    private const int MaxLowerLayers = 500;

    // redirect_dir/metacopy off: every change must be visible as plain files in the upperdir for the differ.
    private static readonly KeyValuePair<string, string>[] NoHiddenChanges =
        [new("index", "off"), new("redirect_dir", "off"), new("metacopy", "off")];

    private async Task<List<string>> EnsureLayersAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken)
    {
        var dirs = new List<string>(chain.Count);
        foreach (var layer in chain) dirs.Add(await EnsureLayerAsync(layer, cancellationToken));
        return dirs;
    }

    /// <summary>
    /// The layer folders to stack for a chain, topmost first. The kernel refuses a folder listed twice ("conflicting lowerdir
    /// path", ELOOP), and a chain repeats a layer whenever two steps leave the same changes (every <c>RUN true</c>
    /// gives the one empty layer), so only the topmost copy of a layer is kept: a lower copy of the same tree cannot
    /// show anything the upper copy does not already decide. Empty layers change nothing and are left out too.
    /// </summary>
    private List<string> StackedLowerDirs(IReadOnlyList<LayerRef> chain, IReadOnlyList<string> layerDirectories)
    {
        var lowers = new List<string>();
        var stacked = new HashSet<Digest>();
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            if (!stacked.Add(chain[i].DiffId) || IsEmptyDirectory(layerDirectories[i])) continue;
            lowers.Add(layerDirectories[i]);
        }
        return lowers;
    }

    private static bool IsEmptyDirectory(string dir) => !Directory.EnumerateFileSystemEntries(dir).Any();

    /// <summary>Copies layers (a chain or its bottom) into one folder, once per list of layers, whiteouts applied.</summary>
    private async Task<string> FlattenAsync(IReadOnlyList<LayerRef> chain, int chainLength, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(",", chain.Select(l => l.DiffId.ToString())))));
        var dir = Path.Combine(_options.Root, "flat", key[..32]);
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        using var _ = await FileLock.AcquireAsync(dir + ".lock", cancellationToken);
        if (Directory.Exists(dir)) return dir;
        var temp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var layer in chain)
            {
                cancellationToken.ThrowIfCancellationRequested();
                OverlayFlattener.ApplyLayer(LayerDirectory(layer.DiffId), temp);
            }
            Directory.Move(temp, dir);
        }
        catch
        {
            TreeRemover.Remove(temp);
            throw;
        }
        Trace.TraceInformation($"flattened the bottom {chain.Count} layers of a chain of {chainLength} into {dir}");
        return dir;
    }

    private ValueTask ReleaseAsync(ActiveSnapshot snapshot)
    {
        if (!snapshot.TryMarkReleased()) return ValueTask.CompletedTask;
        try
        {
            Unmount(snapshot.RootPath);
            TreeRemover.Remove(snapshot.WorkingPath);
        }
        finally
        {
            foreach (var lease in snapshot.Leases) lease.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Unmounts what a dead process left under mnt/ (its folder names start with its pid), and removes its
    /// partial layer extractions, flattenings and interrupted prunes (<c>.tmp-{pid}-…</c>, <c>.del-{pid}-…</c>).</summary>
    private void RecoverFromCrashedProcesses()
    {
        CrashLeftovers.RemoveDeadOwners(_layers);
        CrashLeftovers.RemoveDeadOwners(Path.Combine(_options.Root, "flat"));
        foreach (var dir in Directory.EnumerateDirectories(_mounts))
        {
            var name = Path.GetFileName(dir);
            var dash = name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(name[..dash], out var pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            Unmount(Path.Combine(dir, "m"));
            TreeRemover.Remove(dir);
        }
    }

    internal static void Unmount(string target)
    {
        if (!MountTable.IsMountPoint(target)) return;
        if (LinuxNative.Umount2(target, 0) != 0)
            LinuxNative.Umount2(target, LinuxNative.MntDetach); // busy (a process still has it open): detach now, freed when released
    }

    private string LayerDirectory(Digest diffId) => Path.Combine(_layers, diffId.Hex);

    private string ShortLink(Digest diffId) => Path.Combine(_links, diffId.Hex[..12]);

    private void EnsureShortLink(Digest diffId, string target)
    {
        var link = ShortLink(diffId);
        if (LinuxNative.LStat(link) is not null) return;
        try { File.CreateSymbolicLink(link, target); }
        catch (IOException) when (LinuxNative.LStat(link) is not null) { } // created concurrently
    }
}
