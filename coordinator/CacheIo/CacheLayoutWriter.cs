using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layout;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>
/// Writes a collected cache as BuildKit does with <c>image-manifest=true</c> (its default): the layer blobs, the cache
/// config blob, and an OCI image manifest whose config is the cache config, named by its tag in index.json.
/// </summary>
public static class CacheLayoutWriter
{
    public static async Task<Descriptor> WriteAsync(OciLayout layout, IContentStore store, CollectedCache cache, string tag,
        CancellationToken cancellationToken)
    {
        foreach (var layer in cache.Layers)
        {
            if (layout.HasBlob(layer.ParsedDigest)) continue;
            await using var blob = await store.OpenAsync(layer.ParsedDigest, cancellationToken);
            await layout.WriteBlobAsync(blob, layer.MediaType, layer, cancellationToken);
        }
        var configBytes = cache.Config.ToJson();
        var config = await layout.WriteBlobAsync(configBytes, CacheConfig.MediaType, cancellationToken);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = config with { MediaType = CacheConfig.MediaType },
            Layers = cache.Layers,
        };
        return await layout.AddManifestAsync(ManifestDocument.From(manifest), tag, null, cancellationToken);
    }
}
