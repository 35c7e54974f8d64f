using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Snapshots;

/// <summary>
/// Where overlayfs cannot be used, a step runs in a full copy of its parent; afterwards this walks the copy against
/// the parent and writes what changed as an overlay-form upper directory (changed entries copied, deleted ones as
/// 0/0 character devices), so the differ and the snapshot store work exactly as with overlay. Entries count as
/// unchanged when type, mode, owner, size, mtime and link target agree (as BuildKit's walking differ does).
/// </summary>
internal static class CopyDiff
{
    public static void WriteUpper(string lower, string merged, string upper)
    {
        Directory.CreateDirectory(upper);
        CompareDirectory(lower, merged, upper);
    }

    /// <summary>Returns true when anything below changed (the caller then keeps the directory in the upper).</summary>
    private static bool CompareDirectory(string lowerDir, string mergedDir, string upperDir)
    {
        var changed = false;
        var mergedNames = Directory.Exists(mergedDir)
            ? Directory.EnumerateFileSystemEntries(mergedDir).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var lowerPath in Directory.EnumerateFileSystemEntries(lowerDir))
        {
            var name = Path.GetFileName(lowerPath);
            if (mergedNames.Contains(name)) continue;
            EnsureParent(mergedDir, upperDir);
            LinuxNative.MknodOrThrow(Path.Combine(upperDir, name), 0x2000, 0, 0); // whiteout: deleted by the step
            changed = true;
        }
        foreach (var name in mergedNames.Order(StringComparer.Ordinal))
        {
            var mergedPath = Path.Combine(mergedDir, name);
            var lowerPath = Path.Combine(lowerDir, name);
            var upperPath = Path.Combine(upperDir, name);
            var now = LinuxNative.LStat(mergedPath)!.Value;
            var before = LinuxNative.LStat(lowerPath);
            if (now.IsDirectory && before is { IsDirectory: true })
            {
                var metadataChanged = !SameMetadata(before.Value, now);
                if (metadataChanged) { EnsureParent(mergedDir, upperDir); EntryCopier.Copy(mergedPath, now, upperPath, EntryMetadata.From(now)); }
                if (CompareDirectory(lowerPath, mergedPath, upperPath) || metadataChanged)
                {
                    EnsureParent(mergedDir, upperDir);
                    if (!Directory.Exists(upperPath)) EntryCopier.Copy(mergedPath, now, upperPath, EntryMetadata.From(now));
                    else EntryCopier.Apply(upperPath, false, EntryMetadata.From(now));
                    changed = true;
                }
                continue;
            }
            if (before is { } b && !b.IsDirectory && !now.IsDirectory && SameMetadata(b, now) && SameLink(lowerPath, mergedPath, now)) continue;

            EnsureParent(mergedDir, upperDir);
            EntryCopier.Copy(mergedPath, now, upperPath, EntryMetadata.From(now));
            if (now.IsDirectory)
            {
                // a new directory (or one replacing a file): everything in it is new
                OverlayFlattener.ApplyLayer(mergedPath, upperPath);
                LinuxNative.SetTimesNoFollow(upperPath, now.MtimeSeconds, now.MtimeNanoseconds);
            }
            changed = true;
        }
        return changed;
    }

    private static void EnsureParent(string mergedDir, string upperDir)
    {
        if (Directory.Exists(upperDir)) return;
        EnsureParent(Path.GetDirectoryName(mergedDir)!, Path.GetDirectoryName(upperDir)!);
        var stat = LinuxNative.LStat(mergedDir)!.Value;
        EntryCopier.Copy(mergedDir, stat, upperDir, EntryMetadata.From(stat));
    }

    private static bool SameMetadata(FileStat a, FileStat b) =>
        a.Mode == b.Mode && a.Uid == b.Uid && a.Gid == b.Gid && a.MtimeSeconds == b.MtimeSeconds
        && a.MtimeNanoseconds == b.MtimeNanoseconds && (a.IsDirectory || a.Size == b.Size)
        && a.RdevMajor == b.RdevMajor && a.RdevMinor == b.RdevMinor;

    private static bool SameLink(string a, string b, FileStat stat) =>
        !stat.IsSymlink || new FileInfo(a).LinkTarget == new FileInfo(b).LinkTarget;
}
