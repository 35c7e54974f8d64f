using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;

namespace BuildFarm.Cli.Containers;

/// <summary>
/// The changes of a container's writable layer against its image, as <c>docker diff</c> lists them: an upper-dir entry
/// is C when the image has the path and A when not; a whiteout is D. Sorted by path.
/// </summary>
public static class ContainerDiff
{
    public static IReadOnlyList<ContainerChange> Compute(string upper, string imageRoot, CancellationToken cancellationToken)
    {
        var changes = new List<ContainerChange>();
        foreach (var entry in DirectoryLayerSource.Read(upper, WhiteoutTranslation.Overlay, cancellationToken))
        {
            var path = entry.Path.Trim('/');
            if (path.Length == 0) continue;
            if (Whiteouts.IsOpaqueMarker(path)) continue; // the directory itself is listed as changed
            if (Whiteouts.TryGetWhiteoutTarget(path, out var deleted))
            {
                changes.Add(new ContainerChange('D', "/" + deleted.Trim('/')));
                continue;
            }
            var inImage = Posix.TryLStat(Path.Combine(imageRoot, path), out _);
            changes.Add(new ContainerChange(inImage ? 'C' : 'A', "/" + path));
        }
        return [.. changes.OrderBy(c => c.Path, StringComparer.Ordinal)];
    }
}
