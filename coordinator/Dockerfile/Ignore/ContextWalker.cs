using System.Security.Cryptography;

namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// Lists what a build context sends: every entry under the root that the ignore patterns do not exclude, sorted by
/// path (ordinal), files hashed with sha256. Symlinks are reported with their target and never followed, so nothing
/// outside the root is read. An excluded directory is skipped unless '!' patterns could re-include something in it;
/// directories that only hold re-included entries are listed too, so every listed path has its parents.
/// </summary>
public static class ContextWalker
{
    public static IReadOnlyList<ContextEntry> Walk(string root, PatternMatcher matcher, CancellationToken cancellationToken = default)
    {
        var rootInfo = new DirectoryInfo(root);
        if (!rootInfo.Exists)
            throw new DirectoryNotFoundException($"build context {root}: not a directory");
        var result = new List<ContextEntry>();
        WalkDirectory(rootInfo, "", MatchInfo.Empty, matcher, result, cancellationToken);
        return result;
    }

    // Returns whether anything under the directory was listed.
    private static bool WalkDirectory(DirectoryInfo dir, string relative, MatchInfo parentInfo, PatternMatcher matcher, List<ContextEntry> output, CancellationToken cancellationToken)
    {
        var any = false;
        var children = dir.EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal);
        foreach (var child in children)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? child.Name : relative + "/" + child.Name;
            var excluded = matcher.MatchesUsingParentResults(path, parentInfo, out var info);
            var isLink = child.LinkTarget is not null;
            if (child is DirectoryInfo sub && !isLink)
            {
                if (excluded && !matcher.Exclusions)
                    continue;
                var entry = new ContextEntry(path, ContextEntryKind.Directory, ContextEntry.TypeDirectory | PermissionBits(child), 0, null, null);
                var index = output.Count;
                if (!excluded)
                    output.Add(entry);
                var below = WalkDirectory(sub, path, info, matcher, output, cancellationToken);
                if (excluded && below)
                    output.Insert(index, entry);
                any |= !excluded || below;
                continue;
            }
            if (excluded)
                continue;
            any = true;
            if (isLink)
                output.Add(new ContextEntry(path, ContextEntryKind.Symlink, ContextEntry.TypeSymlink | 0x1FF, child.LinkTarget!.Length, null, child.LinkTarget));
            else if (child is FileInfo file)
                output.Add(new ContextEntry(path, ContextEntryKind.File, ContextEntry.TypeRegular | PermissionBits(child), file.Length, HashFile(file.FullName), null));
        }
        return any;
    }

    private static int PermissionBits(FileSystemInfo info) => OperatingSystem.IsWindows() ? 0x1ED : (int)info.UnixFileMode;

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
