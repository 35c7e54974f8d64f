using BuildFarm.Cache.Context;
using BuildFarm.Worker.FileOps;

namespace BuildFarm.Worker.Context;

/// <summary>
/// Which manifest entries a COPY's sources can read: each entry at or beneath a match of a source (Go glob per
/// component, as <see cref="FileCopier"/> matches), with its parent directories. A source that reaches a symlink
/// (which the copy would follow to anywhere in the context) selects the whole context.
/// </summary>
public static class ContextSelector
{
    /// <summary>The selected entries in manifest order, or null for all of them.</summary>
    public static IReadOnlyList<ContextManifestEntry>? Select(ContextManifest manifest, IReadOnlyList<string>? sources)
    {
        if (sources is null) return null;
        var split = manifest.Entries.Select(e => e.Path.Split('/')).ToArray();
        var selected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            var clean = FileCopier.Clean(source);
            if (clean.Length == 0) return null;
            var parts = clean.Split('/');
            for (var i = 0; i < split.Length; i++)
            {
                var names = split[i];
                var depth = Math.Min(names.Length, parts.Length);
                var matches = true;
                for (var k = 0; k < depth && matches; k++)
                    matches = PathPattern.HasWildcards(parts[k]) ? PathPattern.MatchComponent(parts[k], names[k]) : parts[k] == names[k];
                if (!matches) continue;
                var entry = manifest.Entries[i];
                // A symlink on the way to (or at) a match is followed by the copy: its target may be anywhere.
                if (entry.IsSymlink && names.Length <= parts.Length) return null;
                if (names.Length < parts.Length) continue;
                for (var p = entry.Path; p.Length > 0 && selected.Add(p); p = Parent(p)) { }
            }
        }
        if (selected.Count == manifest.Entries.Count) return null;
        return manifest.Entries.Where(e => selected.Contains(e.Path)).ToArray();
    }

    private static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }
}
