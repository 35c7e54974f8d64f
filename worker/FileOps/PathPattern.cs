using System.Text;
using System.Text.RegularExpressions;

namespace BuildFarm.Worker.FileOps;

/// <summary>Glob patterns: Go's filepath.Match for COPY sources (per path component), and dockerignore-style
/// patterns with <c>**</c> for --exclude.</summary>
public static class PathPattern
{
    public static bool HasWildcards(string path) => path.IndexOfAny(['*', '?', '[']) >= 0;

    /// <summary>Matches one path component (no '/'), Go filepath.Match semantics.</summary>
    public static bool MatchComponent(string pattern, string name) =>
        Regex.IsMatch(name, "^" + Translate(pattern, doubleStar: false) + "$", RegexOptions.CultureInvariant);

    /// <summary>Matches a relative path against an exclude pattern (<c>**</c> spans directories).</summary>
    public static bool MatchExclude(string pattern, string relativePath)
    {
        pattern = pattern.Trim().TrimStart('/');
        if (pattern.StartsWith("./", StringComparison.Ordinal)) pattern = pattern[2..];
        return Regex.IsMatch(relativePath, "^" + Translate(pattern.TrimEnd('/'), doubleStar: true) + "$", RegexOptions.CultureInvariant);
    }

    private static string Translate(string pattern, bool doubleStar)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*' when doubleStar && i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                    else sb.Append(".*");
                    break;
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '\\' when i + 1 < pattern.Length: sb.Append(Regex.Escape(pattern[++i].ToString())); break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0) throw new ArgumentException($"syntax error in pattern '{pattern}': unterminated [");
                    var cls = pattern[(i + 1)..end];
                    if (cls.StartsWith('^') || cls.StartsWith('!')) cls = "^" + cls[1..];
                    sb.Append('[').Append(cls.Replace("\\", "\\\\")).Append(']');
                    i = end;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return sb.ToString();
    }
}
