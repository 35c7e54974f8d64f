using System.Formats.Tar;
using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci.Layers;
using BuildFarm.Worker.Diff;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>One worker for the whole Worker test collection: a short private root (runc state, snapshots, a
/// local content store), the real snapshotter, runc executor and differ, and the busybox base layer.</summary>
public sealed class WorkerFixture : IAsyncLifetime
{
    public BusyboxRootfs Busybox { get; } = new();
    public string Root { get; } = Directory.CreateTempSubdirectory("bfw").FullName;
    public IContentStore Store { get; private set; } = null!;
    public OverlaySnapshotter Snapshotter { get; private set; } = null!;
    public StepExecutor Executor { get; private set; } = null!;
    public LayerRef BaseLayer { get; private set; } = null!;
    public string RuncState => Path.Combine(Root, "runc");

    public async Task InitializeAsync()
    {
        Store = new LocalContentStore(Path.Combine(Root, "store"));
        Snapshotter = new OverlaySnapshotter(Store, new OciLayerUnpacker(), new SnapshotterOptions(Path.Combine(Root, "s")));
        Executor = CreateExecutor(Snapshotter);
        BaseLayer = await AddLayerFromDirectoryAsync(Busybox.Directory);
    }

    /// <summary>A step executor of this worker over the given snapshotter.</summary>
    public StepExecutor CreateExecutor(ISnapshotter snapshotter, ContainerLimits? limits = null) => new(
        snapshotter,
        new RuncExecutor(new RuncOptions(RuncState, Path.Combine(Root, "b")) { Limits = limits ?? ContainerLimits.Default }),
        new LayerDiffer(Store, Path.Combine(Root, "tmp")),
        new FileCopier(new ArchiveExtractor()),
        new UrlFetcher(new HttpClient()),
        new CacheMountStore(Path.Combine(Root, "c")),
        new StepExecutorOptions(Root));

    /// <summary>Stores a folder as a gzip layer (as FROM scratch + ADD rootfs.tar would give).</summary>
    public async Task<LayerRef> AddLayerFromDirectoryAsync(string directory)
    {
        using var buffer = new MemoryStream();
        var layer = await LayerCompressor.CompressDirectoryAsync(directory, buffer, LayerCompression.Gzip);
        buffer.Position = 0;
        await Store.PutAsync(buffer, layer.Digest);
        return new LayerRef(layer.Descriptor, layer.DiffId);
    }

    public Task<StepResult> RunAsync(string command, IReadOnlyList<LayerRef>? parents = null,
        Func<StepRequest, StepRequest>? configure = null, IProgress<OutputLine>? output = null, CancellationToken cancellationToken = default)
    {
        var request = new StepRequest
        {
            Parents = parents ?? [BaseLayer],
            Operation = new RunOperation { Command = [command] },
        };
        return Executor.ExecuteAsync(configure is null ? request : configure(request), output, cancellationToken);
    }

    /// <summary>Applies the layers' tars, in order, onto a fresh plain folder (OCI whiteouts delete).</summary>
    public async Task<string> ExtractAsync(IEnumerable<LayerRef> chain)
    {
        var target = Directory.CreateTempSubdirectory("bfw-x").FullName;
        var applier = new LayerApplier();
        foreach (var layer in chain)
        {
            await using var blob = await Store.OpenAsync(layer.Blob.ParsedDigest);
            await applier.ApplyBlobAsync(blob, layer.Blob.MediaType, target);
        }
        return target;
    }

    /// <summary>The entries of a layer tar: name to content (empty for non-files).</summary>
    public async Task<IReadOnlyDictionary<string, string>> ReadLayerAsync(LayerRef layer)
    {
        var entries = new Dictionary<string, string>();
        await using var blob = await Store.OpenAsync(layer.Blob.ParsedDigest);
        await using var tar = LayerCompressor.OpenDecompressed(blob, layer.Blob.MediaType);
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: true) is { } entry)
        {
            var content = "";
            if (entry.DataStream is { } data) content = await new StreamReader(data).ReadToEndAsync();
            entries[entry.Name.TrimEnd('/')] = content;
        }
        return entries;
    }

    /// <summary>The entries of a layer tar with their headers.</summary>
    public async Task<IReadOnlyDictionary<string, LayerTarEntry>> ReadLayerHeadersAsync(LayerRef layer)
    {
        var entries = new Dictionary<string, LayerTarEntry>();
        await using var blob = await Store.OpenAsync(layer.Blob.ParsedDigest);
        await using var tar = LayerCompressor.OpenDecompressed(blob, layer.Blob.MediaType);
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: true) is { } entry)
        {
            var content = "";
            if (entry.DataStream is { } data) content = await new StreamReader(data).ReadToEndAsync();
            entries[entry.Name.TrimEnd('/')] = new LayerTarEntry(entry.EntryType, entry.Uid, entry.Gid,
                (int)entry.Mode, entry.ModificationTime, entry.LinkName, content);
        }
        return entries;
    }

    public Task DisposeAsync()
    {
        foreach (var mount in MountTable.MountPointsUnder(Root).OrderByDescending(m => m.Length))
            OverlaySnapshotter.Unmount(mount);
        Busybox.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

}
