using System.Text.Json;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;

namespace BuildFarm.Oci.DockerArchive;

/// <summary>Reads a Docker archive (<c>docker save</c> output) unpacked into a directory, and converts it to an OCI layout.</summary>
public static class DockerArchiveReader
{
    /// <summary>Unpacks the archive into <paramref name="directory"/> and returns the images its manifest.json lists.</summary>
    public static async Task<IReadOnlyList<DockerArchiveImage>> ExtractAsync(Stream archive, string directory, CancellationToken cancellationToken = default)
    {
        await new LayerApplier(new LayerApplyOptions { PreserveOwnership = false, ApplyXattrs = false }).ApplyAsync(archive, directory, cancellationToken);
        return await ReadDirectoryAsync(directory, cancellationToken);
    }

    /// <summary>The images of a Docker archive already unpacked into <paramref name="directory"/>.</summary>
    public static async Task<IReadOnlyList<DockerArchiveImage>> ReadDirectoryAsync(string directory, CancellationToken cancellationToken = default)
    {
        var manifestPath = Path.Combine(directory, "manifest.json");
        if (!File.Exists(manifestPath))
            throw new InvalidOciDocumentException("Docker archive has no manifest.json (is it a docker save archive?)");
        var entries = OciJson.Deserialize<List<DockerArchiveManifestEntry>>(await File.ReadAllBytesAsync(manifestPath, cancellationToken));
        var images = new List<DockerArchiveImage>();
        foreach (var entry in entries)
        {
            images.Add(new DockerArchiveImage
            {
                ConfigBytes = await File.ReadAllBytesAsync(Inside(directory, entry.Config), cancellationToken),
                LayerTarPaths = entry.Layers.Select(l => Inside(directory, l)).ToList(),
                RepoTags = entry.RepoTags ?? [],
            });
        }
        return images;
    }

    /// <summary>
    /// Stores an archive image in an OCI layout: layers compressed (their tar digests checked against the config's
    /// diff ids), the config, and a manifest named <paramref name="refName"/>.
    /// </summary>
    public static async Task<Descriptor> ImportAsync(DockerArchiveImage image, OciLayout layout, string? refName, LayerCompression compression, CancellationToken cancellationToken = default)
    {
        var config = image.Config;
        var layers = new List<Descriptor>();
        for (var i = 0; i < image.LayerTarPaths.Count; i++)
        {
            var tarPath = image.LayerTarPaths[i];
            var temp = Path.Combine(layout.Root, "blobs", $".import-{Guid.NewGuid():N}");
            try
            {
                CompressedLayer compressed;
                await using (var output = File.Create(temp))
                {
                    await using var input = File.OpenRead(tarPath);
                    var detected = await LayerCompressor.DetectAsync(input, cancellationToken);
                    await using var tar = LayerCompressor.OpenDecompressed(input, detected);
                    compressed = await LayerCompressor.CompressAsync((s, ct) => tar.CopyToAsync(s, ct), output, compression, cancellationToken);
                }
                if (compressed.DiffId.ToString() != config.RootFs.DiffIds[i])
                    throw new BlobDigestMismatchException(Digest.Parse(config.RootFs.DiffIds[i]), compressed.DiffId, -1, compressed.UncompressedSize);
                await using (var blob = File.OpenRead(temp))
                    layers.Add(await layout.WriteBlobAsync(blob, compressed.Descriptor.MediaType, compressed.Descriptor, cancellationToken));
            }
            finally
            {
                File.Delete(temp);
            }
        }
        var configDescriptor = await layout.WriteBlobAsync(image.ConfigBytes, MediaTypes.OciConfig, cancellationToken);
        var manifest = new ImageManifest { Config = configDescriptor, Layers = layers };
        return await layout.AddManifestAsync(ManifestDocument.From(manifest), refName, config.Platform with { OsFeatures = null, OsVersion = null }, cancellationToken);
    }

    private static string Inside(string directory, string relative)
    {
        var full = Path.GetFullPath(Path.Combine(directory, relative));
        var root = Path.GetFullPath(directory).TrimEnd('/') + "/";
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw new InvalidOciDocumentException($"Docker archive manifest names '{relative}', which is outside the archive");
        return full;
    }
}
