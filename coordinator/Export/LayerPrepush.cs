using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Export;

/// <summary>
/// A push overlapped with the build's tail: each layer of a build that pushes goes to every target repository as soon
/// as it exists (its step finished, or its base image finished downloading) while later steps still run; the push at
/// the end then finds those blobs in the registry (a HEAD answers) and uploads only what is left, then the manifests.
/// Best effort: a layer that fails here is simply pushed again by the final push, which reports any error.
/// Blobs are staged in a scratch OCI layout of its own (the registry client reads a blob through a plain stream), which
/// the outputs then link from (<see cref="StagedBlobPath"/>): an OCI archive is staged this way even without a push
/// (no targets, no client).
/// </summary>
public sealed class LayerPrepush : IAsyncDisposable
{
    private readonly IContentStore _store;
    private readonly RegistryClient? _client;
    private readonly bool _ownsClient;
    private readonly IReadOnlyList<ImageReference> _targets;
    private readonly string _directory;
    private readonly CancellationTokenSource _stop;
    private readonly SemaphoreSlim _uploads = new(ImageCopier.ParallelUploads);
    private readonly Lock _gate = new();
    private readonly HashSet<string> _offered = new(StringComparer.Ordinal);
    private readonly List<Task> _running = [];
    private Task<OciLayout>? _layout;
    private BlobNotFoundException? _lost;
    private int _pushed;
    private bool _closed;

    /// <param name="ownsClient">The client was made for this build's credentials alone: disposed with this, after the uploads.</param>
    public LayerPrepush(IContentStore store, RegistryClient? client, bool ownsClient, IReadOnlyList<ImageReference> targets, string scratch,
        CancellationToken cancellationToken)
    {
        _store = store;
        _client = client;
        _ownsClient = ownsClient;
        _targets = targets;
        _directory = Path.Combine(scratch, $"prepush-{Guid.NewGuid():N}");
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>Layers staged (and uploaded or found present in every target) before the outputs.</summary>
    public int Pushed => Volatile.Read(ref _pushed);

    /// <summary>The file of a blob this prepush staged completely (written under its digest only once verified), or null.</summary>
    public string? StagedBlobPath(Digest digest)
    {
        Task<OciLayout>? layout;
        lock (_gate) layout = _layout;
        if (layout is not { IsCompletedSuccessfully: true }) return null;
        var path = layout.Result.BlobPath(digest);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Starts uploading the layer unless it was offered before; returns at once.</summary>
    public void Offer(LayerRef? layer)
    {
        if (layer is not { Digest.Length: > 0 }) return;
        lock (_gate)
        {
            if (_closed || !_offered.Add(layer.Digest)) return;
            // Made once, before any upload needs it (two uploads must not create one layout at the same time).
            _layout ??= Task.Run(() => OciLayout.OpenOrCreateAsync(_directory, _stop.Token), CancellationToken.None);
            var descriptor = new Descriptor { MediaType = layer.MediaType, Digest = layer.Digest, Size = layer.Size };
            // On the thread pool: the caller is the build's progress path, which must not wait for any I/O.
            _running.Add(Task.Run(() => UploadAsync(descriptor), CancellationToken.None));
        }
    }

    /// <summary>Waits for the uploads under way (their failures are left to the final push), then throws the first
    /// <see cref="BlobNotFoundException"/> met: a layer found corrupted here was removed from the store by that read,
    /// so the outputs would only find it missing, and the build's retry must say why (corrupted, not just gone).</summary>
    public async Task DrainAsync()
    {
        Task[] running;
        lock (_gate) running = [.. _running];
        await Task.WhenAll(running);
        BlobNotFoundException? lost;
        lock (_gate) lost = _lost;
        if (lost is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(lost);
    }

    private async Task UploadAsync(Descriptor blob)
    {
        try
        {
            var token = _stop.Token;
            await _uploads.WaitAsync(token);
            try
            {
                var layout = await _layout!;
                if (!layout.HasBlob(blob.ParsedDigest))
                {
                    await using var stream = await _store.OpenAsync(blob.ParsedDigest, token);
                    await layout.WriteBlobAsync(stream, blob.MediaType, blob, token);
                }
                foreach (var target in _client is null ? [] : _targets)
                    await _client!.PushBlobAsync(target, blob, () => layout.OpenBlob(blob), null, token);
                Interlocked.Increment(ref _pushed);
            }
            finally
            {
                _uploads.Release();
            }
        }
        catch (BlobNotFoundException e)
        {
            lock (_gate) _lost ??= e;
        }
        catch (Exception)
        {
            // Canceled, or a registry error: the final push uploads this blob again and reports what is wrong.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_gate)
        {
            _closed = true;
            running = [.. _running];
        }
        await _stop.CancelAsync();
        try { await Task.WhenAll(running); }
        finally
        {
            _stop.Dispose();
            _uploads.Dispose();
            if (_ownsClient) _client?.Dispose();
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }
    }
}
