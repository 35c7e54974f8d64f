using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>
/// A build's <c>--cache-from</c> and <c>--cache-to</c>: <c>type=local</c> (an OCI layout folder, as buildx writes) and
/// <c>type=registry</c> (the same manifest pushed to a repository; a registry cache goes through a scratch layout).
/// A cache that is not there is a warning, as with buildx; a cache that is there and malformed fails the build by name.
/// </summary>
public sealed class BuildCacheIo(IContentStore store, IStepRecordIndex records, string scratch)
{
    public static IReadOnlyList<string> Types { get; } = ["local", "registry"];

    /// <summary>Imports one cache; returns what it brought, or null (after a warning) when the cache does not exist.</summary>
    /// <param name="graphs">The build's graphs, so that records BuildKit wrote under its own keys hit their steps.</param>
    public async Task<CacheImportResult?> ImportAsync(CacheOption option, RegistryClient registry, Action<ProgressEvent> progress,
        CancellationToken cancellationToken, IReadOnlyList<BuildGraph>? graphs = null)
    {
        var started = Now();
        var tag = option.Attrs.GetValueOrDefault("tag") is { Length: > 0 } t ? t : ImageReference.DefaultTag;
        CacheImportResult result;
        string where;
        switch (option.Type)
        {
            case "local":
            {
                var src = Attr(option, "src", "--cache-from");
                where = $"cache {src}";
                if (!File.Exists(Path.Combine(src, OciLayout.IndexFileName)))
                {
                    Warn(progress, $"local cache import at {src} not found: it has no {OciLayout.IndexFileName}");
                    return null;
                }
                var layout = await OciLayout.OpenAsync(src, cancellationToken);
                result = await new CacheImporter(store, records).ImportAsync(layout, tag, where, cancellationToken, graphs);
                break;
            }
            case "registry":
            {
                var reference = ParseRef(Attr(option, "ref", "--cache-from"), "--cache-from");
                where = $"cache {reference}";
                var dir = NewScratch();
                try
                {
                    var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
                    try
                    {
                        await PullAsync(registry, reference, layout, tag, cancellationToken);
                    }
                    catch (RegistryNotFoundException)
                    {
                        Warn(progress, $"registry cache import from {reference}: not found");
                        return null;
                    }
                    result = await new CacheImporter(store, records).ImportAsync(layout, tag, where, cancellationToken, graphs);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
                break;
            }
            default:
                throw new InvalidCacheException($"--cache-from type={option.Type} is not supported (expected {string.Join(" or ", Types)})");
        }
        var foreign = result.RecordsForeign > 0 ? $", {result.RecordsForeign} records of another builder skipped (their keys are not the farm's)" : "";
        var matched = "";
        if (result.BuildKitMatched > 0)
        {
            matched = $" ({result.BuildKitMatched} found under BuildKit's cache keys)";
            foreign = $", {result.RecordsForeign} records of another builder read";
        }
        Info(progress, "cache-from", $"importing cache manifest from {where}: {result.Layers} layers, {result.RecordsImported} records imported{matched}, " +
                                     $"{result.RecordsPresent} already present{foreign}", started);
        return result;
    }

    /// <summary>Exports one cache config over every graph of the build (one per platform), as BuildKit exports all
    /// platforms of a build in one cache.</summary>
    public async Task ExportAsync(CacheOption option, IReadOnlyList<BuildGraph> graphs, RegistryClient registry, Action<ProgressEvent> progress,
        CancellationToken cancellationToken)
    {
        var started = Now();
        var mode = option.Attrs.GetValueOrDefault("mode") is { Length: > 0 } m ? m : "min";
        if (mode is not ("min" or "max"))
            throw new InvalidCacheException($"--cache-to mode={mode}: expected min or max");
        var tag = option.Attrs.GetValueOrDefault("tag") is { Length: > 0 } t ? t : ImageReference.DefaultTag;
        var collected = await new CacheCollector(records).CollectAsync(graphs, mode == "max", cancellationToken);
        // BuildKit's keys beside ours, for the steps they can be computed for: a BuildKit importing this cache hits too
        foreach (var graph in graphs)
            collected = BuildKitKeys.BuildKitRecordAppender.Append(collected, graph);
        string where;
        switch (option.Type)
        {
            case "local":
            {
                var dest = Attr(option, "dest", "--cache-to");
                where = dest;
                var layout = await OciLayout.OpenOrCreateAsync(dest, cancellationToken);
                await CacheLayoutWriter.WriteAsync(layout, store, collected, tag, cancellationToken);
                break;
            }
            case "registry":
            {
                var reference = ParseRef(Attr(option, "ref", "--cache-to"), "--cache-to");
                where = reference.ToString();
                var dir = NewScratch();
                try
                {
                    var layout = await OciLayout.OpenOrCreateAsync(dir, cancellationToken);
                    var top = await CacheLayoutWriter.WriteAsync(layout, store, collected, tag, cancellationToken);
                    await ImageCopier.PushAsync(registry, layout, top, reference, null, cancellationToken);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
                break;
            }
            default:
                throw new InvalidCacheException($"--cache-to type={option.Type} is not supported (expected {string.Join(" or ", Types)})");
        }
        Info(progress, "cache-to", $"exporting cache to {where} (mode={mode}): {collected.Config.Records?.Count ?? 0} records, " +
                                   $"{collected.Layers.Count} layers", started);
    }

    // A cache manifest is an image manifest (config + layers as blobs) or BuildKit's older index whose entries are blobs.
    private static async Task PullAsync(RegistryClient registry, ImageReference reference, OciLayout layout, string tag, CancellationToken cancellationToken)
    {
        var document = await registry.GetManifestAsync(reference, cancellationToken);
        IEnumerable<Descriptor> blobs = document.IsIndex
            ? document.ParseIndex().Manifests
            : document.ParseManifest() is var manifest ? manifest.Layers.Prepend(manifest.Config) : [];
        foreach (var blob in blobs)
        {
            if (layout.HasBlob(blob.ParsedDigest)) continue;
            await using var stream = await registry.OpenBlobAsync(reference, blob, cancellationToken);
            await layout.WriteBlobAsync(stream, blob.MediaType, blob, cancellationToken);
        }
        await layout.AddManifestAsync(document, tag, null, cancellationToken);
    }

    private static string Attr(CacheOption option, string name, string flag) =>
        option.Attrs.GetValueOrDefault(name) is { Length: > 0 } value
            ? value
            : throw new InvalidCacheException($"{flag} type={option.Type} needs {name}=…");

    private static ImageReference ParseRef(string value, string flag) =>
        ImageReference.TryParse(value, out var reference, out var error)
            ? reference
            : throw new InvalidCacheException($"{flag} ref={value}: {error}");

    private string NewScratch()
    {
        var dir = Path.Combine(scratch, $"cache-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void Warn(Action<ProgressEvent> progress, string message) =>
        Info(progress, "cache-from", "WARNING: " + message, Now());

    private static void Info(Action<ProgressEvent> progress, string id, string name, long started) =>
        progress(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Info, StepId = id, Name = name, StartedUnixMs = started, CompletedUnixMs = Now() });

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
