namespace BuildFarm.Worker.Snapshots;

/// <summary>Reads /proc/self/mountinfo: the truth about what is mounted, for cleanup and tests.</summary>
public static class MountTable
{
    public static IReadOnlyList<string> MountPoints()
    {
        var result = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4) result.Add(Unescape(fields[4]));
        }
        return result;
    }

    /// <summary>Every lowerdir of every overlay mount, as given when mounting (<c>lowerdir=a:b</c> or <c>lowerdir+=</c> each).</summary>
    public static IReadOnlyList<string> OverlayLowerDirs()
    {
        var result = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var fields = line[(separator + 3)..].Split(' ');
            if (fields.Length < 3 || fields[0] != "overlay") continue;
            foreach (var option in fields[2].Split(','))
            {
                if (option.StartsWith("lowerdir=", StringComparison.Ordinal))
                    result.AddRange(option["lowerdir=".Length..].Split(':').Select(Unescape));
                else if (option.StartsWith("lowerdir+=", StringComparison.Ordinal)) // one layer each (new mount API)
                    result.Add(Unescape(option["lowerdir+=".Length..]));
            }
        }
        return result;
    }

    public static bool IsMountPoint(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return MountPoints().Contains(full);
    }

    public static IReadOnlyList<string> MountPointsUnder(string root)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + "/";
        return MountPoints().Where(m => m.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo octal.
    private static string Unescape(string value)
    {
        if (!value.Contains('\\')) return value;
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 3 < value.Length)
            {
                sb.Append((char)Convert.ToInt32(value.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(value[i]);
        }
        return sb.ToString();
    }
}
