namespace BuildFarm.Oci.Layers;

/// <summary>Names of OCI whiteouts and the overlayfs forms they correspond to.</summary>
public static class Whiteouts
{
    public const string Prefix = ".wh.";
    public const string OpaqueMarkerName = ".wh..wh..opq";
    public const string OverlayOpaqueXattr = "trusted.overlay.opaque";
    public const string OverlayXattrPrefix = "trusted.overlay.";

    public static string WhiteoutPathFor(string path)
    {
        var (dir, name) = Split(path);
        return dir.Length == 0 ? Prefix + name : $"{dir}/{Prefix}{name}";
    }

    public static string OpaqueMarkerPathFor(string directory) =>
        directory.Length == 0 ? OpaqueMarkerName : $"{directory.TrimEnd('/')}/{OpaqueMarkerName}";

    public static bool IsOpaqueMarker(string path) => Split(path).Name == OpaqueMarkerName;

    /// <summary>If <paramref name="path"/> is a (non-opaque) whiteout, the path it deletes.</summary>
    public static bool TryGetWhiteoutTarget(string path, out string target)
    {
        var (dir, name) = Split(path);
        target = "";
        if (!name.StartsWith(Prefix, StringComparison.Ordinal) || name == OpaqueMarkerName) return false;
        var hidden = name[Prefix.Length..];
        if (hidden.Length == 0 || hidden is "." or "..") return false;
        target = dir.Length == 0 ? hidden : $"{dir}/{hidden}";
        return true;
    }

    internal static (string Dir, string Name) Split(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash < 0 ? ("", trimmed) : (trimmed[..slash], trimmed[(slash + 1)..]);
    }
}
