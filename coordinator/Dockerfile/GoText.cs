namespace BuildFarm.Coordinator.Dockerfile;

/// <summary>Go's notion of white space (<c>unicode.IsSpace</c>) and the trims and splits built on it.</summary>
internal static class GoText
{
    /// <summary>Go's <c>unicode.IsSpace</c>: the Unicode White_Space property.</summary>
    public static bool IsSpace(int c) => c switch
    {
        >= '\t' and <= '\r' => true,
        ' ' or 0x85 or 0xA0 or 0x1680 or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    public static string TrimSpace(string s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && IsSpace(s[start]))
        {
            start++;
        }
        while (end > start && IsSpace(s[end - 1]))
        {
            end--;
        }
        return s[start..end];
    }

    public static string TrimLeftSpace(string s)
    {
        var start = 0;
        while (start < s.Length && IsSpace(s[start]))
        {
            start++;
        }
        return s[start..];
    }

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
