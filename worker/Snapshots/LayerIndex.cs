using System.Globalization;
using BuildFarm.Oci.FileSystem;

namespace BuildFarm.Worker.Snapshots;

/// <summary>
/// The extracted layers a snapshotter holds: size and last use of each (rebuilt from <c>{hex}.size</c> and the mtime of
/// <c>{hex}.lock</c> on start, so pruning order and totals survive a restart), their running total, and the leases that
/// keep layers under a mount from being pruned. A lease is counted here and, across processes, held as a shared
/// flock on the layer's lock file: extraction and pruning take it exclusively, so neither can happen under a lease.
/// </summary>
internal sealed class LayerIndex(string layersDirectory)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (long Size, DateTime LastUse)> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, FileStream Shared)> _leases = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>Bytes of the layers held (running total, no scan).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Reads the layers folder again: layers other processes sharing it added or removed.</summary>
    public void Rescan()
    {
        var found = new Dictionary<string, (long Size, DateTime LastUse)>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories(layersDirectory))
        {
            var hex = Path.GetFileName(dir);
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigitLower)) continue;
            try { found[hex] = (SizeOf(dir), File.GetLastWriteTimeUtc(dir + ".lock")); }
            catch (IOException) { } // pruned by another process while listing
            catch (UnauthorizedAccessException) { }
        }
        lock (_gate)
        {
            foreach (var (hex, entry) in found)
                if (!_held.TryGetValue(hex, out var known) || known.LastUse < entry.LastUse) _held[hex] = entry;
            foreach (var gone in _held.Keys.Where(h => !found.ContainsKey(h)).ToList()) _held.Remove(gone);
            _bytes = _held.Values.Sum(e => e.Size);
        }
    }

    /// <summary>A layer is held (extracted or committed here, or found extracted): used now.</summary>
    public void Used(string hex, string dir)
    {
        lock (_gate)
        {
            if (_held.TryGetValue(hex, out var known))
            {
                _held[hex] = (known.Size, DateTime.UtcNow);
                return;
            }
        }
        long size;
        try { size = SizeOf(dir); }
        catch (IOException) { return; } // pruned meanwhile by another process
        lock (_gate)
        {
            if (_held.ContainsKey(hex)) return;
            _held[hex] = (size, DateTime.UtcNow);
            _bytes += size;
        }
    }

    public void Forget(string hex)
    {
        lock (_gate)
            if (_held.Remove(hex, out var known)) _bytes -= known.Size;
    }

    public long? SizeOfHeld(string hex)
    {
        lock (_gate) return _held.TryGetValue(hex, out var known) ? known.Size : null;
    }

    /// <summary>The layers held, most recently used first.</summary>
    public IReadOnlyList<string> ByRecentUse()
    {
        lock (_gate) return _held.OrderByDescending(e => e.Value.LastUse).Select(e => e.Key).ToList();
    }

    /// <summary>Pruning candidates: layers held and not leased here, least recently used first.</summary>
    public IReadOnlyList<(string Hex, long Size)> UnleasedLeastRecentlyUsedFirst()
    {
        lock (_gate)
            return _held.Where(e => !_leases.ContainsKey(e.Key)).OrderBy(e => e.Value.LastUse).Select(e => (e.Key, e.Value.Size)).ToList();
    }

    public bool IsLeased(string hex)
    {
        lock (_gate) return _leases.ContainsKey(hex);
    }

    /// <summary>A lease on the layer, or null when some process holds its lock exclusively (extracting or pruning it).
    /// The caller checks that the layer folder exists once it holds the lease.</summary>
    public LayerLease? TryLease(string hex)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(hex, out var lease))
            {
                _leases[hex] = (lease.Count + 1, lease.Shared);
                return new LayerLease(this, hex);
            }
            FileStream shared;
            // FileShare.ReadWrite takes flock(LOCK_SH); FileLock's FileShare.None takes LOCK_EX and fails against it.
            try { shared = new FileStream(LockPath(hex), FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite); }
            catch (IOException) { return null; }
            _leases[hex] = (1, shared);
            return new LayerLease(this, hex);
        }
    }

    internal void Release(string hex)
    {
        lock (_gate)
        {
            var lease = _leases[hex];
            if (lease.Count > 1)
            {
                _leases[hex] = (lease.Count - 1, lease.Shared);
                return;
            }
            _leases.Remove(hex);
            lease.Shared.Dispose();
        }
    }

    private string LockPath(string hex) => Path.Combine(layersDirectory, hex + ".lock");

    /// <summary>The bytes of regular files in a layer folder, as recorded beside it (computed and recorded when missing).</summary>
    public static long SizeOf(string layerDirectory)
    {
        var file = layerDirectory + ".size";
        if (File.Exists(file) && long.TryParse(File.ReadAllText(file), NumberStyles.None, CultureInfo.InvariantCulture, out var size)) return size;
        if (!Directory.Exists(layerDirectory)) throw new DirectoryNotFoundException(layerDirectory);
        // lstat-only: a step's upper directory may hold symlinks to anywhere on the host (`ln -s / /x`).
        size = FileTree.RegularFileBytes(layerDirectory);
        try { File.WriteAllText(file, size.ToString(CultureInfo.InvariantCulture)); }
        catch (IOException) { } // only saves the next walk
        return size;
    }
}
