namespace BuildFarm.Oci.Native;

/// <summary>A path from outside input would be written outside its root (through a symlink, "..", or an odd name).</summary>
public class UnsafePathException(string entry, string message) : IOException(message)
{
    /// <summary>The entry as the input named it (a manifest path, a tar name).</summary>
    public string Entry { get; } = entry;
}
