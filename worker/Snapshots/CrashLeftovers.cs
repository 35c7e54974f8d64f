using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Snapshots;

/// <summary>
/// Removes what dead processes left in a folder that live processes share (one BUILDFARM_HOME, several builds).
/// Entries name their owner: <c>{pid}-…</c> or <c>{kind}-{pid}-…</c> (e.g. <c>run-4242-…</c>, <c>{hex}.tmp-4242-…</c>).
/// Only entries whose owner no longer runs are touched; entries that name no owner are left alone. (A reused pid
/// makes a leftover wait for the next start after that process ends: never the other way round.)
/// </summary>
public static class CrashLeftovers
{
    private const int MaxPid = 4_194_304; // the kernel's PID_MAX_LIMIT

    /// <summary>Removes the dead owners' entries directly under <paramref name="directory"/>, unmounting whatever is
    /// mounted beneath them first. Returns how many were removed.</summary>
    public static int RemoveDeadOwners(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        var removed = 0;
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (OwnerOf(Path.GetFileName(entry)) is not { } pid || !ProcessIsGone(pid)) continue;
            try
            {
                RemoveTree(entry);
                removed++;
            }
            catch (IOException) { } // another starting process removes it at the same moment
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary><paramref name="directory"/> after <see cref="RemoveDeadOwners"/>: for field initializers.</summary>
    public static string Swept(string directory)
    {
        RemoveDeadOwners(directory);
        return directory;
    }

    /// <summary>The pid an entry name carries in its first or second dash-separated field; null when none.</summary>
    public static int? OwnerOf(string name)
    {
        var fields = name.Split('-', 3);
        foreach (var field in fields.Take(Math.Min(2, fields.Length - 1)))
            if (int.TryParse(field, System.Globalization.NumberStyles.None, null, out var pid) && pid is > 0 and <= MaxPid) return pid;
        return null;
    }

    public static bool ProcessIsGone(int pid) => pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}");

    /// <summary>Unmounts every mount at or beneath <paramref name="path"/> (deepest first), then removes the tree without
    /// following symlinks: never deletes through a mount into what it shows.</summary>
    public static void RemoveTree(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var mounts = MountTable.MountPoints().Where(m => m == full || m.StartsWith(full + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length);
        foreach (var mount in mounts)
        {
            if (LinuxNative.Umount2(mount, 0) != 0 && LinuxNative.Umount2(mount, LinuxNative.MntDetach) != 0)
                throw new IOException($"cannot unmount {mount} left by a dead process");
        }
        TreeRemover.Remove(full);
    }
}
