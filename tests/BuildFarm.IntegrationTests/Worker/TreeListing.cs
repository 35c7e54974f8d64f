using System.Security.Cryptography;
using BuildFarm.Worker.Native;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>A folder as comparable text: one line per entry with type, mode, owner and content hash or link
/// target (no times: overlay and tars keep them at different precision).</summary>
public static class TreeListing
{
    public static IReadOnlyList<string> Of(string root, Func<string, bool>? include = null)
    {
        var lines = new List<string>();
        Walk(root, "", lines, include ?? (_ => true));
        return lines;
    }

    private static void Walk(string dir, string relative, List<string> lines, Func<string, bool> include)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            var rel = relative + "/" + Path.GetFileName(path);
            if (!include(rel)) continue;
            var stat = LinuxNative.LStat(path)!.Value;
            var what = stat switch
            {
                { IsDirectory: true } => "dir",
                { IsSymlink: true } => "link -> " + new FileInfo(path).LinkTarget,
                { IsRegularFile: true } => "file " + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..16],
                _ => $"special {stat.Mode:x}",
            };
            lines.Add($"{rel} {Convert.ToString(stat.Permissions, 8)} {stat.Uid}:{stat.Gid} {what}");
            if (stat.IsDirectory) Walk(path, rel, lines, include);
        }
    }
}
