using BuildFarm.Oci.Native;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>Copies one filesystem entry (not recursively) with its owner, mode and mtime.</summary>
internal static class EntryCopier
{
    /// <summary>Copies <paramref name="source"/> to <paramref name="target"/>, replacing a non-directory there.
    /// A directory that already exists only gets its metadata updated. <paramref name="targetAbsent"/>: the caller
    /// knows nothing is there (its directory was just created), which saves a lookup through the overlay per entry.</summary>
    public static void Copy(string source, FileStat stat, string target, EntryMetadata metadata, bool targetAbsent = false)
    {
        var existing = targetAbsent ? null : LinuxNative.LStat(target);
        if (existing is not null && !(existing.Value.IsDirectory && stat.IsDirectory))
            TreeRemover.Remove(target);

        if (stat.IsDirectory)
        {
            if (existing is null || !existing.Value.IsDirectory) Directory.CreateDirectory(target);
        }
        else if (stat.IsSymlink)
        {
            File.CreateSymbolicLink(target, new FileInfo(source).LinkTarget!);
        }
        else if (stat.IsRegularFile)
        {
            File.Copy(source, target, overwrite: false);
        }
        else if (stat.IsCharDevice || stat.IsBlockDevice || stat.IsFifo)
        {
            LinuxNative.MknodOrThrow(target, (stat.Mode & 0xF000) | stat.Permissions, stat.RdevMajor, stat.RdevMinor);
        }
        else
        {
            throw new IOException($"cannot copy {source}: sockets and unknown file types are not copied");
        }
        Apply(target, stat.IsSymlink, metadata);
    }

    /// <summary>
    /// <see cref="Copy"/> for a destination built from outside input: the entry is written as <paramref name="name"/>
    /// of a directory opened beneath the destination root without following symlinks, and is itself never followed.
    /// </summary>
    public static void CopyInto(string source, FileStat stat, ConfinedDirectory parent, string name, EntryMetadata metadata, bool targetAbsent = false)
    {
        var existing = targetAbsent ? null : parent.Stat(name);
        var existingIsDirectory = existing is { Type: FileStatus.Directory };
        if (existing is not null && !(existingIsDirectory && stat.IsDirectory))
            parent.Remove(name);

        if (stat.IsDirectory)
        {
            if (!existingIsDirectory) parent.CreateDirectory(name);
        }
        else if (stat.IsSymlink)
        {
            parent.CreateSymlink(name, new FileInfo(source).LinkTarget!);
        }
        else if (stat.IsRegularFile)
        {
            // Content, owner, mode and times through the new file's fd: the per-file cost of a COPY of many small files.
            parent.CreateFileCopy(name, source, metadata.Uid, metadata.Gid, metadata.Mode, metadata.MtimeSeconds, metadata.MtimeNanoseconds);
            return;
        }
        else if (stat.IsCharDevice || stat.IsBlockDevice || stat.IsFifo)
        {
            parent.MakeNode(name, (stat.Mode & 0xF000) | stat.Permissions, stat.RdevMajor, stat.RdevMinor);
        }
        else
        {
            throw new IOException($"cannot copy {source}: sockets and unknown file types are not copied");
        }
        ApplyIn(parent, name, stat.IsSymlink, metadata);
    }

    public static void ApplyIn(ConfinedDirectory parent, string name, bool isSymlink, EntryMetadata metadata)
    {
        parent.SetOwner(name, metadata.Uid, metadata.Gid);
        // chown clears setuid/setgid bits, so the mode goes after it.
        if (!isSymlink) parent.SetMode(name, metadata.Mode);
        parent.SetTimes(name, metadata.MtimeSeconds, metadata.MtimeNanoseconds);
    }

    public static void Apply(string target, bool isSymlink, EntryMetadata metadata)
    {
        LinuxNative.LchownOrThrow(target, metadata.Uid, metadata.Gid);
        // chown clears setuid/setgid bits, so the mode goes after it.
        if (!isSymlink) LinuxNative.ChmodOrThrow(target, metadata.Mode);
        LinuxNative.SetTimesNoFollow(target, metadata.MtimeSeconds, metadata.MtimeNanoseconds);
    }
}
