using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// runc creates missing mount points in the rootfs; they must not end up in the layer (BuildKit removes such
/// "mount stubs" too). Before the run, record which path components are missing and the metadata of the existing
/// directories above them; after the run (overlay unmounted), delete the stubs still empty from the upper
/// directory, and drop a directory that overlay copied up only to hold a stub when it is left empty and unchanged.
/// </summary>
public sealed class MountStubs
{
    private readonly List<string> _missing = [];
    private readonly Dictionary<string, FileStat> _parents = new(StringComparer.Ordinal);

    public MountStubs(string rootfs, IEnumerable<string> destinations)
    {
        foreach (var destination in destinations)
        {
            var current = "";
            foreach (var part in destination.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var parent = current;
                current += "/" + part;
                if (_missing.Contains(current)) break;
                if (LinuxNative.LStat(RootedPath.ResolveScoped(rootfs, current)) is not null) continue;
                _missing.Add(current);
                if (parent.Length > 0 && !_parents.ContainsKey(parent)
                    && LinuxNative.LStat(RootedPath.ResolveScoped(rootfs, parent)) is { IsDirectory: true } stat)
                    _parents[parent] = stat;
                break; // everything below a missing component is missing too; remember only the top stub
            }
        }
    }

    /// <summary>Cleans <paramref name="upper"/>, the run's upper directory, after the overlay is unmounted.</summary>
    public void Remove(string upper)
    {
        foreach (var path in _missing)
            RemoveIfEmpty(upper + path);
        foreach (var (path, before) in _parents.OrderByDescending(p => p.Key.Length))
        {
            var physical = upper + path;
            if (LinuxNative.LStat(physical) is not { IsDirectory: true } now) continue;
            if (Directory.EnumerateFileSystemEntries(physical).Any() || OverlayFlattener.IsOpaque(physical)) continue;
            if (now.Permissions == before.Permissions && now.Uid == before.Uid && now.Gid == before.Gid)
                Directory.Delete(physical);
        }
    }

    /// <summary>Removes a stub tree made only of empty directories and empty files; anything with content stays.</summary>
    private static bool RemoveIfEmpty(string path)
    {
        var stat = LinuxNative.LStat(path);
        if (stat is null) return true;
        if (stat.Value.IsRegularFile && stat.Value.Size == 0) { File.Delete(path); return true; }
        if (!stat.Value.IsDirectory) return false;
        var empty = true;
        foreach (var child in Directory.EnumerateFileSystemEntries(path).ToList())
            empty &= RemoveIfEmpty(child);
        if (empty) Directory.Delete(path);
        return empty;
    }
}
