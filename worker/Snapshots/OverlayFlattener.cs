using System.Text;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Snapshots;

/// <summary>Applies an overlay-form layer folder onto a plain folder by copying: the fallback where
/// overlay stacking cannot be used. Whiteouts delete, opaque directories replace.</summary>
internal static class OverlayFlattener
{
    public const string OpaqueXattr = "trusted.overlay.opaque";

    public static void ApplyLayer(string layer, string target) => ApplyDirectory(layer, target);

    private static void ApplyDirectory(string sourceDir, string targetDir)
    {
        foreach (var source in Directory.EnumerateFileSystemEntries(sourceDir).Order(StringComparer.Ordinal))
        {
            var target = Path.Combine(targetDir, Path.GetFileName(source));
            var stat = LinuxNative.LStat(source)!.Value;
            if (stat.IsOverlayWhiteout)
            {
                TreeRemover.Remove(target);
                continue;
            }
            if (stat.IsDirectory && IsOpaque(source)) TreeRemover.Remove(target);
            EntryCopier.Copy(source, stat, target, EntryMetadata.From(stat));
            if (stat.IsDirectory)
            {
                ApplyDirectory(source, target);
                // writing children moved the mtime; put the layer's back
                LinuxNative.SetTimesNoFollow(target, stat.MtimeSeconds, stat.MtimeNanoseconds);
            }
        }
    }

    public static bool IsOpaque(string directory) =>
        LinuxNative.GetXattr(directory, OpaqueXattr) is { } value && Encoding.ASCII.GetString(value) == "y";
}
