namespace BuildFarm.Coordinator.Dockerfile;

/// <summary>Go's notion of white space (<c>unicode.IsSpace</c>) and the trims built on it.</summary>
internal static class GoText
{
    public static bool IsSpace(char c) => char.IsWhiteSpace(c);

    public static string TrimSpace(string s) => s.Trim();

    public static string TrimLeftSpace(string s) => s.TrimStart();

    /// <summary>The separators of BuildKit's <c>reWhitespace</c>: <c>[\t\v\f\r ]</c>.</summary>
    public static bool IsSplitSpace(char c) => c is '\t' or '\v' or '\f' or '\r' or ' ';

    /// <summary>Splits on runs of <c>[\t\v\f\r ]</c> into at most <paramref name="max"/> parts (-1 = no limit), like Go's <c>Regexp.Split</c>.</summary>
    public static List<string> SplitWhitespace(string s, int max)
    {
        var parts = new List<string>();
        if (max == 0)
        {
            return parts;
        }
        var start = 0;
        var i = 0;
        while (i < s.Length)
        {
            if (!IsSplitSpace(s[i]))
            {
                i++;
                continue;
            }
            if (max > 0 && parts.Count == max - 1)
            {
                break;
            }
            var end = i;
            while (i < s.Length && IsSplitSpace(s[i]))
            {
                i++;
            }
            parts.Add(s[start..end]);
            start = i;
        }
        parts.Add(s[start..]);
        return parts;
    }
}
