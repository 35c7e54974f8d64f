namespace BuildFarm.Oci.Layers;

/// <summary>How a layer tar is compressed in its blob.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
