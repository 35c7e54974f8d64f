using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Export;

/// <summary>A multi-platform result: an OCI image index (in the content store) over one assembled image per platform.</summary>
public sealed record ExportedIndex(IReadOnlyList<PlatformImage> Images, byte[] IndexBytes, Digest IndexDigest)
{
    public long Size => IndexBytes.Length + Images.Sum(i => i.Image.Size);
}
