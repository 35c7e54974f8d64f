using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Coordinator.Export;

/// <summary>Puts an OCI image index over the platforms' images into the content store: one manifest descriptor per
/// platform, in the order the platforms were asked for (as BuildKit writes them).</summary>
public static class IndexBuilder
{
    public static async Task<ExportedIndex> BuildAsync(IContentStore store, IReadOnlyList<PlatformImage> images, CancellationToken cancellationToken)
    {
        var index = new ImageIndex
        {
            MediaType = MediaTypes.OciIndex,
            Manifests = [.. images.Select(i => new Descriptor
            {
                MediaType = MediaTypes.OciManifest,
                Digest = i.Image.ManifestDigest.ToString(),
                Size = i.Image.ManifestBytes.Length,
                Platform = i.Platform,
            })],
        };
        var bytes = index.ToJson();
        var digest = await store.PutAsync(new MemoryStream(bytes, writable: false), Digest.Compute(bytes), cancellationToken);
        return new ExportedIndex(images, bytes, digest);
    }
}
