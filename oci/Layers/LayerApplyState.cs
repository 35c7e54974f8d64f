namespace BuildFarm.Oci.Layers;

/// <summary>What one layer's application has done so far: paths it wrote (opaque markers keep those) and directory times to set last.</summary>
internal sealed class LayerApplyState(string root)
{
    public string Root { get; } = root;
    public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);
    public List<(string Path, long Seconds, long Nanoseconds)> DirectoryTimes { get; } = [];
}
