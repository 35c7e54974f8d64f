namespace BuildFarm.Oci.Layers;

/// <summary>A layer blob as written: its descriptor (compressed digest and size) and its diff id (digest of the tar).</summary>
public sealed record CompressedLayer(Descriptor Descriptor, Digest DiffId, long UncompressedSize)
{
    public Digest Digest => Descriptor.ParsedDigest;
    public long Size => Descriptor.Size;

    /// <summary>Bytes of the regular files the layer holds (each hard-linked set once), when it was written from a
    /// directory (<see cref="LayerCompressor.CompressDirectoryAsync"/>); null otherwise.</summary>
    public long? RegularFileBytes { get; init; }
}
