using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// Which entries of a context manifest a COPY/ADD selects, named the way they land under the destination: a directory
/// source contributes its contents relative to itself, a file its base name (or, with --parents, its full path).
/// Wildcards follow Go's filepath.Match on the whole path ('*' stays within one directory level).
/// </summary>
public static class ContextSelector
{
    public static IReadOnlyList<ContentChecksumEntry> Select(IReadOnlyList<ContextEntry> manifest, ContextSelection selection)
    {
        var excludes = PatternMatcher.Create(selection.Excludes);
        var result = new List<ContentChecksumEntry>();
        foreach (var rawSource in selection.Sources)
        {
            var source = Normalize(rawSource);
            var roots = new List<ContextEntry?>();
            if (source == ".")
                roots.Add(null);
            else if (GlobMatch.HasMeta(source))
                roots.AddRange(manifest.Where(e => GlobMatch.IsMatch(source, e.Path)));
            else
                roots.AddRange(manifest.Where(e => e.Path == source));
            if (roots.Count == 0)
                throw new FileNotFoundException($"COPY/ADD source \"{rawSource}\": not found in the build context; expected a path relative to the context root");

            foreach (var root in roots)
            {
                if (root is null || root.Kind == ContextEntryKind.Directory)
                {
                    var prefix = root is null ? "" : root.Path + "/";
                    foreach (var entry in manifest)
                    {
                        if (!entry.Path.StartsWith(prefix, StringComparison.Ordinal) || entry.Path.Length == prefix.Length)
                            continue;
                        var landing = selection.KeepParents ? entry.Path : entry.Path[prefix.Length..];
                        if (!excludes.MatchesOrParentMatches(landing))
                            result.Add(ToChecksumEntry(entry, landing));
                    }
                }
                else
                {
                    var landing = selection.KeepParents ? root.Path : root.Path[(root.Path.LastIndexOf('/') + 1)..];
                    if (!excludes.MatchesOrParentMatches(landing))
                        result.Add(ToChecksumEntry(root, landing));
                }
            }
        }
        return result;
    }

    /// <summary>The checksum of exactly the selected files.</summary>
    public static string Checksum(IReadOnlyList<ContextEntry> manifest, ContextSelection selection) =>
        ContentChecksum.Compute(Select(manifest, selection));

    // Sources are relative to the context root and cannot climb out of it.
    private static string Normalize(string source)
    {
        var cleaned = GoPath.Clean("/" + source.Replace('\\', '/'));
        return cleaned == "/" ? "." : cleaned[1..];
    }

    private static ContentChecksumEntry ToChecksumEntry(ContextEntry entry, string path) =>
        new(path, entry.Mode, entry.Sha256, entry.LinkTarget);
}
