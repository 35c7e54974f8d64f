using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci.Native;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// The build context as the build sees it: the files .dockerignore lets through, hashed once, and the folder a
/// worker reads them from. With an ignore file, that folder is a hard-linked copy holding only the listed entries,
/// so COPY . never sees an ignored file.
/// </summary>
public sealed class BuildContext : IDisposable
{
    private readonly IReadOnlyList<ContextEntry> _entries;
    private readonly string? _staging;

    private BuildContext(string root, IReadOnlyList<ContextEntry> entries, string directory, string? staging)
    {
        Root = root;
        _entries = entries;
        Directory = directory;
        _staging = staging;
    }

    public string Root { get; }

    /// <summary>Where workers on this machine read the context.</summary>
    public string Directory { get; }

    public IReadOnlyList<ContextEntry> Entries => _entries;

    public static Task<BuildContext> OpenAsync(string root, string? dockerfilePath, string scratch, CancellationToken cancellationToken) =>
        OpenAsync(root, dockerfilePath, scratch, null, cancellationToken);

    public static async Task<BuildContext> OpenAsync(string root, string? dockerfilePath, string scratch, ContextHashCache? hashes,
        CancellationToken cancellationToken)
    {
        var matcher = await IgnoreFileLocator.LoadAsync(root, dockerfilePath, cancellationToken);
        var entries = ContextWalker.Walk(root, matcher, hashes, cancellationToken);
        if (matcher.Patterns.Count == 0) return new BuildContext(root, entries, root, null);

        System.IO.Directory.CreateDirectory(scratch);
        var staging = System.IO.Directory.CreateDirectory(Path.Combine(scratch, "ctx-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        try
        {
            // Entry paths come from the context, which a served build's client wrote: stage them without following symlinks.
            using var sourceRoot = ConfinedRoot.Open(root);
            using var stagingRoot = ConfinedRoot.Open(staging);
            foreach (var entry in entries)
            {
                var slash = entry.Path.LastIndexOf('/');
                var parentPath = slash < 0 ? "" : entry.Path[..slash];
                var name = entry.Path[(slash + 1)..];
                using var parent = stagingRoot.OpenDirectory(parentPath, create: true, entry.Path);
                switch (entry.Kind)
                {
                    case ContextEntryKind.Directory:
                        if (parent.Stat(name) is null) parent.CreateDirectory(name);
                        parent.SetMode(name, (uint)entry.Mode & 0xFFF);
                        break;
                    case ContextEntryKind.Symlink:
                        parent.CreateSymlink(name, entry.LinkTarget!);
                        break;
                    default:
                        using (var sourceParent = sourceRoot.OpenDirectory(parentPath, create: false, entry.Path))
                        {
                            try
                            {
                                parent.CreateHardLink(name, sourceParent, name);
                            }
                            catch (IOException)
                            {
                                // Another file system (or no hard links): copy the bytes instead.
                                using var from = new FileStream(Path.Combine(root, entry.Path), FileMode.Open, FileAccess.Read, FileShare.Read, 0);
                                using (var to = parent.CreateFile(name, (uint)entry.Mode & 0xFFF))
                                    from.CopyTo(to);
                                parent.SetMode(name, (uint)entry.Mode & 0xFFF);
                            }
                        }
                        break;
                }
            }
        }
        catch
        {
            System.IO.Directory.Delete(staging, recursive: true);
            throw;
        }
        return new BuildContext(root, entries, staging, staging);
    }

    /// <summary>The checksum of the entries a COPY/ADD selects: paths relative to the context, content, mode.</summary>
    public string Checksum(ContextSelection selection)
    {
        var selected = new SortedDictionary<string, ContextEntry>(StringComparer.Ordinal);
        var excludes = selection.Excludes.Select(Clean).ToList();
        foreach (var raw in selection.Sources)
        {
            var source = Clean(raw);
            var glob = GlobMatch.HasMeta(source);
            var below = source + "/";
            foreach (var entry in _entries)
            {
                var matched = source.Length == 0
                    || (glob ? MatchesGlob(source, entry.Path) : entry.Path == source || entry.Path.StartsWith(below, StringComparison.Ordinal));
                if (!matched) continue;
                if (excludes.Count > 0 && excludes.Any(e => GlobMatch.IsMatch(e, entry.Path) || GlobMatch.IsMatch(e, Path.GetFileName(entry.Path)))) continue;
                selected[entry.Path] = entry;
            }
        }
        return ContentChecksum.Compute(selected.Values.Select(e =>
            new ContentChecksumEntry(e.Path, e.Mode, e.Sha256, e.LinkTarget)));
    }

    // A glob matches a path or one of its parents (COPY src/*.d copies whole matched directories).
    private static bool MatchesGlob(string pattern, string path)
    {
        for (var p = path; p.Length > 0; p = Path.GetDirectoryName(p)?.Replace('\\', '/') ?? "")
            if (GlobMatch.IsMatch(pattern, p)) return true;
        return false;
    }

    // Relative to the context root and beneath it ("../../src" is "src"), as the worker resolves sources.
    private static string Clean(string path)
    {
        var cleaned = GoPath.Clean("/" + path.Replace('\\', '/'));
        return cleaned == "/" ? "" : cleaned[1..];
    }

    public void Dispose()
    {
        if (_staging is null) return;
        try { System.IO.Directory.Delete(_staging, recursive: true); }
        catch (IOException) { }
    }
}
