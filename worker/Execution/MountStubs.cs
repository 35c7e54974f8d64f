using BuildFarm.Oci.Native;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// runc creates missing mount points in the rootfs; they must not end up in the layer (BuildKit removes such
/// "mount stubs" too). Before the run, record which path components are missing and the metadata of the existing
/// directories above them; after the run (overlay unmounted), delete the stubs still empty from the upper
/// directory, and drop a directory that overlay copied up only to hold a stub when it is left empty and unchanged.
/// Destinations come from the Dockerfile: ".." is clamped at the root (as runc resolves them) and every deletion goes
/// through <see cref="ConfinedRoot"/>, so a target such as <c>/../../x</c> never reaches outside the upper directory.
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
            foreach (var part in Clean(destination))
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
        using var root = ConfinedRoot.Open(upper);
        foreach (var path in _missing)
        {
            var (parent, name) = Split(root, path);
            using (parent)
                if (parent is not null) RemoveIfEmpty(parent, name);
        }
        foreach (var (path, before) in _parents.OrderByDescending(p => p.Key.Length))
        {
            var (parent, name) = Split(root, path);
            using (parent)
            {
                if (parent?.Stat(name) is not { Type: FileStatus.Directory } now) continue;
                using (var dir = parent.OpenChild(name))
                    // lgetxattr on ".../fd/N/." reads the directory itself, not the /proc link.
                    if (dir.ChildNames().Count > 0 || OverlayFlattener.IsOpaque(dir.ProcPath + "/.")) continue;
                if (now.Permissions == before.Permissions && now.Uid == before.Uid && now.Gid == before.Gid)
                    parent.Remove(name);
            }
        }
    }

    /// <summary>The directory holding <paramref name="path"/> (null when it is gone, or is not a plain directory) and its name.</summary>
    private static (ConfinedDirectory? Parent, string Name) Split(ConfinedRoot root, string path)
    {
        var slash = path.LastIndexOf('/');
        try
        {
            return (root.OpenDirectory(ConfinedRoot.Split(path[..slash].TrimStart('/'), path), create: false, path), path[(slash + 1)..]);
        }
        catch (IOException)
        {
            return (null, ""); // a symlink or a file where a stub's parent was: nothing of ours to clean there
        }
    }

    /// <summary>Removes a stub tree made only of empty directories and empty files; anything with content stays.</summary>
    private static bool RemoveIfEmpty(ConfinedDirectory parent, string name)
    {
        var stat = parent.Stat(name);
        if (stat is null) return true;
        if (stat.Value.Type == FileStatus.Regular && stat.Value.Size == 0) { parent.Remove(name); return true; }
        if (stat.Value.Type != FileStatus.Directory) return false;
        var empty = true;
        using (var dir = parent.OpenChild(name))
            foreach (var child in dir.ChildNames())
                empty &= RemoveIfEmpty(dir, child);
        if (empty) parent.Remove(name);
        return empty;
    }

    /// <summary>A destination's components with "." dropped and ".." clamped at the root, as runc resolves it in the rootfs.</summary>
    private static List<string> Clean(string destination)
    {
        var parts = new List<string>();
        foreach (var part in destination.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return parts;
    }
}
