using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Export;

/// <summary>What a build exports: one image, or a multi-platform build's index over one image per platform. Every
/// output takes this one shape, so a single image and an index go down the same path.</summary>
public sealed record ExportedBuild(IReadOnlyList<PlatformImage> Images, ExportedIndex? Index)
{
    public static ExportedBuild Single(PlatformImage image) => new([image], null);

    public static ExportedBuild Of(ExportedIndex index) => new(index.Images, index);

    /// <summary>The document that names the whole result: the index, or the single image's manifest.</summary>
    public ManifestDocument Document => Index is { } index
        ? new ManifestDocument(MediaTypes.OciIndex, index.IndexBytes)
        : new ManifestDocument(MediaTypes.OciManifest, Images[0].Image.ManifestBytes);

    public Digest Digest => Index?.IndexDigest ?? Images[0].Image.ManifestDigest;

    /// <summary>The byte size of every blob (index, manifests, configs, layers).</summary>
    public long Size => Index?.Size ?? Images[0].Image.Size;
}
