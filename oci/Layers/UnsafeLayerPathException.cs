namespace BuildFarm.Oci.Layers;

/// <summary>A layer entry tried to reach outside the extraction root (absolute path, "..", or an escaping symlink).</summary>
public sealed class UnsafeLayerPathException(string entry, string message) : Native.UnsafePathException(entry, message);
