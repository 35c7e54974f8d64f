using System.Collections.Concurrent;
using System.Text.Json;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// Pins FROM and COPY --from images to manifest digests and pulls them into the content store once. A tag resolved
/// before is reused from <c>base-images.json</c> (no registry round trip on a cached rebuild) unless --pull asks to
/// look again, as BuildKit's local resolver does. A name of the local image store (pulled, loaded, committed, built
/// here) is used as it is without asking a registry, as docker's builders do, unless --pull.
/// </summary>
public sealed class BaseImageResolver(IContentStore store, Func<RegistryClient> clientFactory, string stateDirectory, LocalImageStore? localImages = null)
{
    /// <summary>Blobs of one image fetched at once.</summary>
    public const int ParallelDownloads = 4;

    // Shared with the resolvers of WithClient: a base resolved for one client of a resident engine (its user) serves the next.
    private ConcurrentDictionary<string, Task<ResolvedImage>> _resolved = new(StringComparer.Ordinal);
    private readonly Lazy<RegistryClient> _client = new(clientFactory);
    private string IndexPath => Path.Combine(stateDirectory, "base-images.json");

    /// <summary>The same store, index, local images and resolved bases, pulling what is not resolved yet through
    /// <paramref name="client"/> (one build's own registry access: a resident engine's caller's docker config).</summary>
    public BaseImageResolver WithClient(RegistryClient client) => new(store, () => client, stateDirectory, localImages) { _resolved = _resolved };

    public Task<ResolvedImage> ResolveAsync(string reference, Platform platform, bool pull, CancellationToken cancellationToken)
    {
        var key = $"{platform} {reference}";
        var resolving = _resolved.GetOrAdd(key, _ => ResolveCoreAsync(reference, platform, pull, cancellationToken));
        // A failed resolve (credentials refused, registry down, canceled) is not remembered: the next build asks again,
        // maybe with other credentials, instead of getting this failure for as long as the engine runs.
        _ = resolving.ContinueWith(t => _resolved.TryRemove(new KeyValuePair<string, Task<ResolvedImage>>(key, t)), CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return resolving;
    }

    private async Task<ResolvedImage> ResolveCoreAsync(string text, Platform platform, bool pull, CancellationToken cancellationToken)
    {
        var reference = ImageReference.Parse(text);
        var indexKey = $"{platform} {reference}";
        if (!pull && reference.Digest is null && localImages is not null
            && (await localImages.ListAsync(cancellationToken)).FirstOrDefault(i => SameName(i.Name, reference)) is { } named
            && await TryLoadAsync(text, named.ManifestDigest, cancellationToken) is { } localImage
            && localImage.Config.Platform.Matches(platform))
            return localImage;
        if (!pull && reference.Digest is null && await ReadIndexAsync(cancellationToken) is { } index
            && index.TryGetValue(indexKey, out var known) && await TryLoadAsync(text, known, cancellationToken) is { } cached)
            return cached;
        if (reference.Digest is { } pinned && await TryLoadAsync(text, pinned.ToString(), cancellationToken) is { } local)
            return local;

        var client = _client.Value;
        var (manifestDocument, _) = await client.GetImageManifestAsync(reference, platform, cancellationToken);
        var manifest = manifestDocument.ParseManifest();
        // Layers download side by side, each streamed straight into the store (as dockerd's 3 concurrent downloads).
        await Parallel.ForEachAsync(manifest.Layers.Prepend(manifest.Config).DistinctBy(b => b.Digest),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
            async (blob, token) =>
            {
                if (await store.ExistsAsync(blob.ParsedDigest, token)) return;
                await using var stream = await client.OpenBlobAsync(reference, blob, token);
                await store.PutAsync(stream, blob.ParsedDigest, token);
            });
        // The manifest bytes go last: a stored manifest means every blob it names is stored too.
        await store.PutAsync(new MemoryStream(manifestDocument.Bytes, writable: false), manifestDocument.Digest, cancellationToken);
        if (reference.Digest is null) await RememberAsync(indexKey, manifestDocument.Digest.ToString(), cancellationToken);
        return await TryLoadAsync(text, manifestDocument.Digest.ToString(), cancellationToken)
               ?? throw new InvalidOperationException($"image {text} was pulled but cannot be read back from {store.Location}");
    }

    private static bool SameName(string localName, ImageReference reference) =>
        !localName.Contains('@') && ImageReference.TryParse(localName, out var parsed, out _) && parsed == reference;

    /// <summary>Reads an image whose manifest is in the store; null when something is missing.</summary>
    public async Task<ResolvedImage?> TryLoadAsync(string reference, string manifestDigest, CancellationToken cancellationToken)
    {
        var digest = Digest.Parse(manifestDigest);
        if (!await store.ExistsAsync(digest, cancellationToken)) return null;
        var manifest = ImageManifest.Parse(await ReadAllAsync(digest, cancellationToken));
        if (!await store.ExistsAsync(manifest.Config.ParsedDigest, cancellationToken)) return null;
        var config = ImageConfig.Parse(await ReadAllAsync(manifest.Config.ParsedDigest, cancellationToken));
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            throw new InvalidOciDocumentException($"image {reference}: {manifest.Layers.Count} layers but {config.RootFs.DiffIds.Count} diff ids");
        var layers = manifest.Layers.Select((l, i) => new LayerRef
        {
            Digest = l.Digest,
            Size = l.Size,
            MediaType = l.MediaType,
            DiffId = config.RootFs.DiffIds[i],
        }).ToList();
        return new ResolvedImage(reference, manifestDigest, config, layers);
    }

    private async Task<byte[]> ReadAllAsync(Digest digest, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenAsync(digest, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private async Task<Dictionary<string, string>?> ReadIndexAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(IndexPath)) return null;
        try
        {
            await using var stream = File.OpenRead(IndexPath);
            return await JsonSerializer.DeserializeAsync<Dictionary<string, string>>(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return null; // a damaged index only costs a registry round trip
        }
    }

    private async Task RememberAsync(string key, string digest, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(stateDirectory);
        await using var held = await FileLock.AcquireAsync(Path.Combine(stateDirectory, "base-images.lock"), cancellationToken);
        var index = await ReadIndexAsync(cancellationToken) ?? new Dictionary<string, string>(StringComparer.Ordinal);
        index[key] = digest;
        var temp = $"{IndexPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(index), cancellationToken);
        File.Move(temp, IndexPath, overwrite: true);
    }
}
