using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Export;

/// <summary>An assembled image whose manifest, config and layers are all in the content store.</summary>
public sealed record ExportedImage(ImageManifest Manifest, byte[] ManifestBytes, Digest ManifestDigest, byte[] ConfigBytes, Digest ConfigDigest)
{
    public long Size => ManifestBytes.Length + ConfigBytes.Length + Manifest.Layers.Sum(l => l.Size);
}
