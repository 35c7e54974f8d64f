using BuildFarm.Oci.Native;

namespace BuildFarm.Oci.FileSystem;

/// <summary>
/// Walks a directory tree with lstat semantics only: a symlink is an entry, never a directory to descend into nor a
/// file to size. .NET's recursive enumeration (<c>RecurseSubdirectories</c>, <c>SearchOption.AllDirectories</c>)
/// descends into symlinked directories, so after <c>RUN ln -s / /x</c> it would walk the host's whole file system:
/// every tree a build step can write must be walked through here instead.
/// </summary>
public static class FileTree
{
    /// <summary>Every entry below <paramref name="root"/> (the root itself excluded), directories before their
    /// contents. Entries that vanish during the walk are skipped; a root that is not a directory yields nothing.</summary>
    public static IEnumerable<FileTreeEntry> Walk(string root, CancellationToken cancellationToken = default)
    {
        if (!Posix.TryLStat(root, out var rootStatus) || rootStatus.Type != FileStatus.Directory) yield break;
        var pending = new Stack<(string Full, string Relative)>();
        pending.Push((Path.GetFullPath(root), ""));
        while (pending.TryPop(out var directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            List<string> children;
            try { children = Directory.EnumerateFileSystemEntries(directory.Full).ToList(); } // one level: follows nothing below
            catch (DirectoryNotFoundException) { continue; } // removed while walking
            children.Sort(StringComparer.Ordinal);
            foreach (var full in children)
            {
                if (!Posix.TryLStat(full, out var status)) continue; // removed while walking
                var name = Path.GetFileName(full);
                var relative = directory.Relative.Length == 0 ? name : $"{directory.Relative}/{name}";
                yield return new FileTreeEntry(full, relative, status);
                if (status.Type == FileStatus.Directory) pending.Push((full, relative));
            }
        }
    }

    /// <summary>The bytes the regular files below <paramref name="root"/> hold (hard links counted once); symlinks,
    /// devices and directories count nothing, and nothing outside the tree is ever stat'ed.</summary>
    public static long RegularFileBytes(string root, CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<(ulong, ulong)>();
        long total = 0;
        foreach (var entry in Walk(root, cancellationToken))
            if (entry.Status.Type == FileStatus.Regular && (entry.Status.LinkCount < 2 || seen.Add((entry.Status.Device, entry.Status.Inode))))
                total += entry.Status.Size;
        return total;
    }
}
