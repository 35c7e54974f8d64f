using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// A named folder context's own <c>.dockerignore</c> (BuildKit's dockerui reads DIR/.dockerignore of every local named
/// context and sends it as the local source's exclude patterns). Only that file: the main context's ignore file and
/// <c>Dockerfile.dockerignore</c> never apply to a named context.
/// </summary>
public static class NamedContextIgnore
{
    public const string FileName = ".dockerignore";

    /// <summary>The compiled patterns of DIR/.dockerignore, or null when the folder has none.</summary>
    /// <exception cref="NamedContextException">the file cannot be read or holds a bad pattern.</exception>
    public static async Task<PatternMatcher?> LoadAsync(string name, string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var text = await File.ReadAllTextAsync(path, cancellationToken);
            return IgnoreFile.Compile(IgnoreFile.ReadEntries(text, path), path);
        }
        catch (Exception e) when (e is FormatException or PatternSyntaxException or IOException or UnauthorizedAccessException)
        {
            throw new NamedContextException($"build context {name}: {e.Message}");
        }
    }

    /// <summary>
    /// The entries the patterns keep, in their order: as the context walker decides, an excluded directory is dropped
    /// with everything below it unless a '!' pattern re-includes something there (then it stays as that entry's parent).
    /// </summary>
    public static IReadOnlyList<LayerEntry> Filter(IReadOnlyList<LayerEntry> entries, PatternMatcher matcher)
    {
        var directoryInfo = new Dictionary<string, MatchInfo>(StringComparer.Ordinal);
        var excludedDirectories = new HashSet<string>(StringComparer.Ordinal);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        // Ordinal order puts every directory before what it holds ("a" < "a/b").
        foreach (var entry in entries.OrderBy(e => Trim(e.Path), StringComparer.Ordinal))
        {
            var path = Trim(entry.Path);
            var slash = path.LastIndexOf('/');
            var parentInfo = MatchInfo.Empty;
            if (slash > 0 && !directoryInfo.TryGetValue(path[..slash], out parentInfo))
                continue; // its parent was dropped with everything below it
            var excluded = matcher.MatchesUsingParentResults(path, parentInfo, out var info);
            if (entry.Type == LayerEntryType.Directory)
            {
                if (excluded && !matcher.Exclusions) continue;
                directoryInfo[path] = info;
                if (excluded)
                {
                    excludedDirectories.Add(path);
                    continue;
                }
            }
            else if (excluded) continue;
            kept.Add(path);
            // an excluded directory stays as the parent of what a '!' pattern brought back
            for (var up = path.LastIndexOf('/'); up > 0; up = path.LastIndexOf('/', up - 1))
                if (excludedDirectories.Contains(path[..up])) kept.Add(path[..up]);
        }
        return entries.Where(e => kept.Contains(Trim(e.Path))).ToList();
    }

    private static string Trim(string path) => path.Trim('/');
}
