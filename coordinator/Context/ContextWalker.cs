using BuildFarm.Oci.Native;
using System.Security.Cryptography;
using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// Lists what a build context sends: every entry under the root that the ignore patterns do not exclude, sorted by
/// path (ordinal), files hashed with sha256. Symlinks are reported with their target and never followed, so nothing
/// outside the root is read. An excluded directory is skipped unless '!' patterns could re-include something in it;
/// directories that only hold re-included entries are listed too, so every listed path has its parents.
/// Files are hashed after the walk, on all cores, skipping those a <see cref="ContextHashCache"/> knows unchanged.
/// </summary>
public static class ContextWalker
{
    public static IReadOnlyList<ContextEntry> Walk(string root, PatternMatcher matcher, CancellationToken cancellationToken = default) =>
        Walk(root, matcher, null, cancellationToken);

    public static IReadOnlyList<ContextEntry> Walk(string root, PatternMatcher matcher, ContextHashCache? hashes, CancellationToken cancellationToken = default)
    {
        var rootInfo = new DirectoryInfo(root);
        if (!rootInfo.Exists)
            throw new DirectoryNotFoundException($"build context {root}: not a directory");
        var result = new List<ContextEntry>();
        var files = new Dictionary<string, (string FullPath, FileStatus Status)>(StringComparer.Ordinal);
        WalkDirectory(rootInfo.FullName, "", MatchInfo.Empty, matcher, result, files, cancellationToken);
        HashFiles(result, files, hashes, cancellationToken);
        hashes?.Save();
        return result;
    }

    private static void HashFiles(List<ContextEntry> entries, Dictionary<string, (string FullPath, FileStatus Status)> files,
        ContextHashCache? hashes, CancellationToken cancellationToken)
    {
        var sums = new string[entries.Count];
        Parallel.For(0, entries.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var entry = entries[i];
            if (entry.Kind != ContextEntryKind.File) return;
            var (fullPath, status) = files[entry.Path];
            if (hashes?.TryGet(entry.Path, status) is { } known)
            {
                sums[i] = known;
                return;
            }
            sums[i] = HashFile(fullPath);
            hashes?.Add(entry.Path, status, sums[i]);
        });
        for (var i = 0; i < entries.Count; i++)
            if (sums[i] is { } sum) entries[i] = entries[i] with { Sha256 = sum };
    }

    // Returns whether anything under the directory was listed. One lstat per entry gives its type, mode and size (and the
    // hash cache's identity): no FileSystemInfo stat, no readlink of every file to learn it is not a link.
    private static bool WalkDirectory(string dir, string relative, MatchInfo parentInfo, PatternMatcher matcher, List<ContextEntry> output,
        Dictionary<string, (string FullPath, FileStatus Status)> files, CancellationToken cancellationToken)
    {
        var any = false;
        var names = new List<string>();
        foreach (var child in Directory.EnumerateFileSystemEntries(dir)) names.Add(Path.GetFileName(child));
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? name : relative + "/" + name;
            var full = Path.Combine(dir, name);
            var excluded = matcher.MatchesUsingParentResults(path, parentInfo, out var info);
            if (!Posix.TryLStat(full, out var status)) continue; // removed since the listing
            if (status.Type == FileStatus.Directory)
            {
                if (excluded && !matcher.Exclusions)
                    continue;
                var entry = new ContextEntry(path, ContextEntryKind.Directory, ContextEntry.TypeDirectory | PermissionBits(status), 0, null, null);
                var index = output.Count;
                if (!excluded)
                    output.Add(entry);
                var below = WalkDirectory(full, path, info, matcher, output, files, cancellationToken);
                if (excluded && below)
                    output.Insert(index, entry);
                any |= !excluded || below;
                continue;
            }
            if (excluded)
                continue;
            any = true;
            if (status.Type == FileStatus.Symlink)
            {
                var target = new FileInfo(full).LinkTarget ?? "";
                output.Add(new ContextEntry(path, ContextEntryKind.Symlink, ContextEntry.TypeSymlink | 0x1FF, target.Length, null, target));
            }
            else
            {
                RequireRegularFile(status, path);
                files[path] = (full, status);
                output.Add(new ContextEntry(path, ContextEntryKind.File, ContextEntry.TypeRegular | PermissionBits(status), status.Size, null, null));
            }
        }
        return any;
    }

    // Opening a FIFO would block the walk forever, and a device or socket has no content to send.
    private static void RequireRegularFile(in FileStatus status, string contextPath)
    {
        var type = status.Type;
        if (type == FileStatus.Regular) return;
        throw new IOException($"build context: '{contextPath}' is {DescribeType(type)}; a context may hold only regular files, directories and symlinks (exclude it in .dockerignore)");
    }

    private static string DescribeType(uint type) => type switch
    {
        FileStatus.Fifo => "a named pipe",
        FileStatus.Socket => "a socket",
        FileStatus.CharDevice => "a character device",
        FileStatus.BlockDevice => "a block device",
        _ => $"a special file (type 0x{type:x})",
    };

    private static int PermissionBits(in FileStatus status) => (int)status.Permissions;

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
