using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// Resolves a path inside a root folder the way the kernel would inside a chroot: symlinks are followed,
/// but relative to the root. <see cref="ResolveScoped"/> clamps escapes at the root (an image's own absolute
/// symlinks mean "inside the image"); <see cref="ResolveStrict"/> refuses any symlink leaving the root (a build
/// context must never let a copy read what is outside it).
/// </summary>
public static class RootedPath
{
    private const int MaxSymlinks = 255;

    public static string ResolveScoped(string root, string path, bool followFinal = true) =>
        Resolve(root, path, followFinal, strict: false);

    public static string ResolveStrict(string root, string path, bool followFinal = true) =>
        Resolve(root, path, followFinal, strict: true);

    private static string Resolve(string root, string path, bool followFinal, bool strict)
    {
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var pending = new Stack<string>(Split(path).Reverse());
        var current = new List<string>();
        var followed = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                if (current.Count > 0) current.RemoveAt(current.Count - 1);
                continue;
            }
            var candidate = Join(root, current, part);
            var stat = LinuxNative.LStat(candidate);
            var isFinal = pending.Count == 0;
            if (stat is { IsSymlink: true } && (!isFinal || followFinal))
            {
                if (++followed > MaxSymlinks) throw new IOException($"too many levels of symbolic links resolving {path} in {root}");
                var target = new FileInfo(candidate).LinkTarget ?? "";
                if (strict) EnsureInside(root, current, target, candidate);
                if (target.StartsWith('/')) current.Clear();
                foreach (var p in Split(target).Reverse()) pending.Push(p);
                continue;
            }
            current.Add(part);
        }
        return current.Count == 0 ? root : root + "/" + string.Join('/', current);
    }

    private static void EnsureInside(string root, List<string> current, string target, string link)
    {
        var depth = target.StartsWith('/') ? -1 : current.Count;
        foreach (var p in Split(target))
        {
            if (p == ".") continue;
            depth = p == ".." ? depth - 1 : (depth < 0 ? 1 : depth + 1);
            if (depth < 0) break;
        }
        if (target.StartsWith('/') || depth < 0)
            throw new UnsafeSymlinkException(
                $"symlink {Path.GetRelativePath(root, link)} -> {target} points outside the source root {root}; refusing to follow it");
    }

    private static string Join(string root, List<string> current, string part) =>
        current.Count == 0 ? $"{root}/{part}" : $"{root}/{string.Join('/', current)}/{part}";

    private static IEnumerable<string> Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
