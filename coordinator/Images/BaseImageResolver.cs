using System.Collections.Concurrent;
using System.Diagnostics;
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
    public BaseImageResolver WithClient(RegistryClient client) => new(store, () => client, stateDirectory, localImages)
        { _resolved = _resolved, FollowedStore = FollowedStore, Trace = Trace };

    /// <summary>The very store this process's worker reads (a local folder, same instance): a base's layers are announced
    /// there and download in the background, so a step unpacks a layer while it downloads. Null: every layer is stored
    /// before the image is returned (remote workers read the store only once a blob is whole).</summary>
    public LocalContentStore? FollowedStore { get; init; }

    /// <summary>Timings of manifest and layer downloads (BUILDFARM_TRACE=1); null: none.</summary>
    public TextWriter? Trace { get; init; }

    public Task<ResolvedImage> ResolveAsync(string reference, Platform platform, bool pull, CancellationToken cancellationToken)
    {
        var key = $"{platform} {reference}";
        var created = false;
        var task = _resolved.GetOrAdd(key, _ =>
        {
            created = true;
            return ResolveCoreAsync(reference, platform, pull, cancellationToken);
        });
        if (created) ForgetOnFailure(key, task);
        return task;
    }

    /// <summary>A failed resolution or download is not remembered: the next build (of a resident engine, too) asks again.</summary>
    private void ForgetOnFailure(string key, Task<ResolvedImage> task)
    {
        void Forget() => _resolved.TryRemove(new KeyValuePair<string, Task<ResolvedImage>>(key, task));
        _ = task.ContinueWith(t =>
        {
            if (!t.IsCompletedSuccessfully) Forget();
            else _ = t.Result.Downloaded.ContinueWith(d => { if (!d.IsCompletedSuccessfully) Forget(); },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
        var watch = Stopwatch.StartNew();
        var (manifestDocument, _) = await client.GetImageManifestAsync(reference, platform, cancellationToken);
        var manifest = manifestDocument.ParseManifest();
        Trace?.WriteLine($"trace: base {text}: manifest {watch.Elapsed.TotalMilliseconds:F0} ms");
        if (FollowedStore is { } followed) return await ResolveFollowedAsync(text, indexKey, reference, client, manifestDocument, manifest, followed, cancellationToken);
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

    /// <summary>The config first (planning needs it), then the image at once, its layers announced in the store and
    /// downloading in the background; the manifest is stored (and the tag remembered) once they are all in.</summary>
    private async Task<ResolvedImage> ResolveFollowedAsync(string text, string indexKey, ImageReference reference, RegistryClient client,
        ManifestDocument manifestDocument, ImageManifest manifest, LocalContentStore followed, CancellationToken cancellationToken)
    {
        if (!await store.ExistsAsync(manifest.Config.ParsedDigest, cancellationToken))
        {
            await using var stream = await client.OpenBlobAsync(reference, manifest.Config, cancellationToken);
            await store.PutAsync(stream, manifest.Config.ParsedDigest, cancellationToken);
        }
        var config = ImageConfig.Parse(await ReadAllAsync(manifest.Config.ParsedDigest, cancellationToken));
        var image = Describe(text, manifestDocument.Digest.ToString(), manifest, config);
        var pending = new List<(Descriptor Layer, BlobIngest Ingest, bool Owner)>();
        foreach (var layer in manifest.Layers.DistinctBy(l => l.Digest))
        {
            if (await store.ExistsAsync(layer.ParsedDigest, cancellationToken)) continue;
            var (ingest, owner) = followed.Announce(layer.ParsedDigest);
            pending.Add((layer, ingest, owner));
        }
        var downloaded = FinishDownloadsAsync(text, indexKey, reference, client, manifestDocument, followed, pending, cancellationToken);
        return image with { Downloaded = downloaded };
    }

    private async Task FinishDownloadsAsync(string text, string indexKey, ImageReference reference, RegistryClient client, ManifestDocument manifestDocument,
        LocalContentStore followed, List<(Descriptor Layer, BlobIngest Ingest, bool Owner)> pending, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the caller goes on planning while the layers download
        var watch = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(pending,
                new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
                async (item, token) =>
                {
                    if (!item.Owner)
                    {
                        await item.Ingest.Completion.WaitAsync(token); // another build of this process downloads it
                        return;
                    }
                    try
                    {
                        await using var stream = await client.OpenBlobAsync(reference, item.Layer, token);
                        await store.PutAsync(stream, item.Layer.ParsedDigest, token);
                    }
                    catch (Exception e)
                    {
                        item.Ingest.Fail(e); // readers waiting on it get the cause, never a hang
                        throw;
                    }
                    // Ended by the put (committed); should a store ever take it without ending it, its readers must not wait forever.
                    if (!item.Ingest.Completion.IsCompleted) item.Ingest.Fail(new BlobNotFoundException(item.Layer.ParsedDigest, followed.Location));
                });
        }
        catch (Exception e)
        {
            // Nothing may wait forever on a layer this download will never write.
            foreach (var item in pending.Where(p => p.Owner)) item.Ingest.Fail(e);
            throw;
        }
        Trace?.WriteLine($"trace: base {text}: {pending.Count} layers downloaded ({pending.Sum(p => p.Layer.Size) / 1048576.0:F1} MB) in {watch.Elapsed.TotalMilliseconds:F0} ms");
        // The manifest bytes go last: a stored manifest means every blob it names is stored too.
        await store.PutAsync(new MemoryStream(manifestDocument.Bytes, writable: false), manifestDocument.Digest, cancellationToken);
        if (reference.Digest is null) await RememberAsync(indexKey, manifestDocument.Digest.ToString(), cancellationToken);
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
        return Describe(reference, manifestDigest, manifest, config);
    }

    private static ResolvedImage Describe(string reference, string manifestDigest, ImageManifest manifest, ImageConfig config)
    {
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
