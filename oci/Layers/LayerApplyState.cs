using BuildFarm.Oci.Native;

namespace BuildFarm.Oci.Layers;

/// <summary>What one layer's application has done so far: paths it wrote, relative to the root (opaque markers keep
/// those), and directory times to set last.</summary>
internal sealed class LayerApplyState(string root, ConfinedRoot confined, LayerApplyStats? stats = null)
{
    public LayerApplyStats? Stats { get; } = stats;
    public string Root { get; } = root;
    public ConfinedRoot Confined { get; } = confined;
    public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);
    public List<(List<string> Components, long Seconds, long Nanoseconds)> DirectoryTimes { get; } = [];

    /// <summary>One buffer for every file's data of the layer (not one per file).</summary>
    public byte[] CopyBuffer { get; } = new byte[128 * 1024];
}
