using System.Security.Cryptography;
using BuildFarm.Oci.Native;

namespace BuildFarm.TestSupport;

/// <summary>Describes a directory tree as sorted lines (path, type, mode, content hash or link target) for comparisons.</summary>
public static class TreeSnapshot
{
    public static IReadOnlyList<string> Take(string root, bool withOwnership = false)
    {
        var lines = new List<string>();
        Walk(root, "", lines, withOwnership);
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static void Walk(string directory, string relative, List<string> lines, bool withOwnership)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(directory))
        {
            var name = Path.GetFileName(full);
            var path = relative.Length == 0 ? name : $"{relative}/{name}";
            var st = Posix.LStat(full);
            var mode = Convert.ToString(st.Permissions, 8);
            var owner = withOwnership ? $" {st.Uid}:{st.Gid}" : "";
            switch (st.Type)
            {
                case FileStatus.Symlink:
                    lines.Add($"{path} -> {new FileInfo(full).LinkTarget}{owner}");
                    break;
                case FileStatus.Directory:
                    lines.Add($"{path}/ {mode}{owner}");
                    Walk(full, path, lines, withOwnership);
                    break;
                case FileStatus.Regular:
                    var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full)))[..12];
                    lines.Add($"{path} {mode} {hash}{owner}");
                    break;
                case FileStatus.CharDevice:
                    lines.Add($"{path} c {st.DeviceMajor}:{st.DeviceMinor} {mode}{owner}");
                    break;
                case FileStatus.BlockDevice:
                    lines.Add($"{path} b {st.DeviceMajor}:{st.DeviceMinor} {mode}{owner}");
                    break;
                case FileStatus.Fifo:
                    lines.Add($"{path} p {mode}{owner}");
                    break;
                default:
                    lines.Add($"{path} ? {st.Mode}");
                    break;
            }
        }
    }

    /// <summary>Short content hash in the same form <see cref="Take"/> prints.</summary>
    public static string HashOf(string content) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content)))[..12];
}
