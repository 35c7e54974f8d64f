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

    /// <summary>Parent directories resolved so far (entry path → host components below the root).</summary>
    public Dictionary<string, List<string>> ResolvedDirectories { get; } = new(StringComparer.Ordinal);

    /// <summary>Every path (directories and symlinks) those resolutions walked through.</summary>
    private readonly HashSet<string> _walked = new(StringComparer.Ordinal);

    public void RememberResolution(string key, List<string> resolved, List<string> walked)
    {
        ResolvedDirectories[key] = resolved;
        foreach (var path in walked) _walked.Add(path);
    }

    /// <summary>The path is about to be removed or replaced: resolutions that went through it are no longer true.</summary>
    public void Replacing(string relative)
    {
        if (_walked.Contains(relative)) ForgetResolutions();
    }

    public void ForgetResolutions()
    {
        ResolvedDirectories.Clear();
        _walked.Clear();
    }

    /// <summary>One buffer for every file's data of the layer (not one per file).</summary>
    public byte[] CopyBuffer { get; } = new byte[128 * 1024];
}
