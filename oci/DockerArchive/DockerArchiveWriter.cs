using System.Text.Json;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Oci.DockerArchive;

/// <summary>
/// Writes the archive <c>docker load</c> reads: <c>manifest.json</c>, <c>&lt;config hex&gt;.json</c>,
/// <c>&lt;diff id hex&gt;/layer.tar</c> per layer, and the legacy <c>repositories</c> file. Deterministic.
/// </summary>
public static class DockerArchiveWriter
{
    public static async Task WriteAsync(IReadOnlyList<DockerArchiveImage> images, Stream destination, CancellationToken cancellationToken = default)
    {
        var entries = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
        var manifest = new List<DockerArchiveManifestEntry>();
        var repositories = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);

        foreach (var image in images)
        {
            var config = image.Config;
            if (config.RootFs.DiffIds.Count != image.LayerTarPaths.Count)
                throw new InvalidOciDocumentException($"config lists {config.RootFs.DiffIds.Count} diff ids but {image.LayerTarPaths.Count} layer tars were given");
            var configName = image.ConfigDigest.Hex + ".json";
            entries[configName] = LayerEntry.File(configName, image.ConfigBytes);

            var layerNames = new List<string>();
            for (var i = 0; i < image.LayerTarPaths.Count; i++)
            {
                var path = image.LayerTarPaths[i];
                var diffId = Digest.Parse(config.RootFs.DiffIds[i]);
                await using (var file = File.OpenRead(path))
                {
                    var actual = await Digest.ComputeAsync(file, cancellationToken);
                    if (actual != diffId)
                        throw new BlobDigestMismatchException(diffId, actual, -1, new FileInfo(path).Length);
                }
                var name = $"{diffId.Hex}/layer.tar";
                entries[diffId.Hex] = LayerEntry.Directory(diffId.Hex);
                entries[name] = new LayerEntry
                {
                    Path = name,
                    Type = LayerEntryType.RegularFile,
                    Mode = 0b110_100_100,
                    Size = new FileInfo(path).Length,
                    OpenContent = () => File.OpenRead(path),
                };
                layerNames.Add(name);
            }
            manifest.Add(new DockerArchiveManifestEntry { Config = configName, RepoTags = image.RepoTags, Layers = layerNames });

            foreach (var tag in image.RepoTags)
            {
                var colon = tag.LastIndexOf(':');
                if (colon <= tag.LastIndexOf('/'))
                    throw new ArgumentException($"repo tag '{tag}' has no tag", nameof(images));
                var repo = tag[..colon];
                if (!repositories.TryGetValue(repo, out var tags)) repositories[repo] = tags = new(StringComparer.Ordinal);
                tags[tag[(colon + 1)..]] = layerNames.Count > 0 ? layerNames[^1].Split('/')[0] : image.ConfigDigest.Hex;
            }
        }

        entries["manifest.json"] = LayerEntry.File("manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Options));
        if (repositories.Count > 0)
            entries["repositories"] = LayerEntry.File("repositories", JsonSerializer.SerializeToUtf8Bytes(repositories, OciJson.Options));

        var writer = new LayerTarWriter(new LayerWriterOptions { Uid = 0, Gid = 0, FixedModificationTime = DateTimeOffset.UnixEpoch });
        await writer.WriteAsync(entries.Values, destination, cancellationToken);
    }
}
