using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>Go's <c>path.Clean</c> and <c>path/filepath.Dir</c> for slash-separated paths; patternmatcher semantics depend on their exact results.</summary>
public static class GoPath
{
    public static string Clean(string path)
    {
        if (path.Length == 0)
            return ".";
        var rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
                continue;
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                    parts.RemoveAt(parts.Count - 1);
                else if (!rooted)
                    parts.Add("..");
                // ".." above the root stays at the root.
                continue;
            }
            parts.Add(part);
        }
        var joined = string.Join('/', parts);
        if (rooted)
            return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>Everything but the last element, cleaned; "." when there is no directory part.</summary>
    public static string Dir(string path)
    {
        var i = path.LastIndexOf('/');
        return Clean(i < 0 ? "" : path[..(i + 1)]);
    }

    /// <summary>Joins with '/' and cleans, like Go's path.Join (empty elements are ignored).</summary>
    public static string Join(params string[] elements)
    {
        var sb = new StringBuilder();
        foreach (var e in elements)
        {
            if (e.Length == 0)
                continue;
            if (sb.Length > 0)
                sb.Append('/');
            sb.Append(e);
        }
        return sb.Length == 0 ? "" : Clean(sb.ToString());
    }
}
