using BuildFarm.Cache;
using BuildFarm.Oci.Layers;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Extracted layers are a size-capped LRU cache: real overlay mounts and runc, layers of known file bytes.</summary>
[Collection(WorkerCollection.Name)]
public sealed class SnapshotCacheTests(WorkerFixture worker)
{
    private const int LayerBytes = 100_000;

    private string NewRoot() => Directory.CreateDirectory(Path.Combine(worker.Root, "c" + Guid.NewGuid().ToString("N")[..6])).FullName;

    /// <summary>A layer holding one file <c>/{name}</c> of <see cref="LayerBytes"/> bytes, stored in <paramref name="store"/>.</summary>
    private async Task<LayerRef> LayerAsync(IContentStore store, string name)
    {
        var source = Directory.CreateDirectory(Path.Combine(worker.Root, "src-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            File.WriteAllText(Path.Combine(source, name), new string(name[0], LayerBytes));
            using var buffer = new MemoryStream();
            var layer = await LayerCompressor.CompressDirectoryAsync(source, buffer, LayerCompression.Gzip);
            buffer.Position = 0;
            await store.PutAsync(buffer, layer.Digest);
            return new LayerRef(layer.Descriptor, layer.DiffId);
        }
        finally { Directory.Delete(source, recursive: true); }
    }

    /// <summary>Mounts the layer read-only, checks its file is there, and releases it.</summary>
    private static async Task UseAsync(OverlaySnapshotter snapshotter, LayerRef layer, string name)
    {
        await using var view = await snapshotter.ViewAsync([layer], CancellationToken.None);
        Assert.True(MountTable.IsMountPoint(view.RootPath));
        Assert.Equal(LayerBytes, new FileInfo(Path.Combine(view.RootPath, name)).Length);
    }

    [Fact]
    public async Task Snapshot_cache_prunes_least_recently_used_layer_past_its_cap()
    {
        var (a, b, c) = (await LayerAsync(worker.Store, "a"), await LayerAsync(worker.Store, "b"), await LayerAsync(worker.Store, "c"));
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(NewRoot()) { CapacityBytes = 250_000 });

        await UseAsync(snapshotter, a, "a");
        await UseAsync(snapshotter, b, "b");
        await UseAsync(snapshotter, a, "a"); // a is used again: b is now the least recently used
        Assert.Equal(200_000, snapshotter.LocalBytes);
        await UseAsync(snapshotter, c, "c"); // 300,000 bytes: past the cap

        Assert.True(snapshotter.HasLayer(a.DiffId));
        Assert.False(snapshotter.HasLayer(b.DiffId));
        Assert.True(snapshotter.HasLayer(c.DiffId));
        Assert.Equal(200_000, snapshotter.LocalBytes);
        Assert.Equal([c.DiffId, a.DiffId], snapshotter.LayersByRecentUse());
    }

    [Fact]
    public async Task Mounted_snapshot_is_never_pruned()
    {
        var (a, b, c) = (await LayerAsync(worker.Store, "a"), await LayerAsync(worker.Store, "b"), await LayerAsync(worker.Store, "c"));
        var root = NewRoot();
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root) { CapacityBytes = 1 });
        var executor = worker.CreateExecutor(snapshotter);

        // A RUN step on [busybox, a] that reads a's file only after the other layers came and went.
        var step = executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer, a],
            Operation = new RunOperation { Command = ["sleep 3; cat /a > /copy"] },
        }, null, CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (MountTable.MountPointsUnder(Path.Combine(root, "mnt")).Count == 0 && !step.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await UseAsync(snapshotter, c, "c");
        await UseAsync(snapshotter, b, "b"); // every layer past the cap of 1 byte: c goes, the step's layers stay

        Assert.False(step.IsCompleted, "the step ended before the prune could be tried under it");
        Assert.False(snapshotter.HasLayer(c.DiffId));
        Assert.True(snapshotter.HasLayer(a.DiffId));
        Assert.True(snapshotter.HasLayer(worker.BaseLayer.DiffId));
        var result = await step;
        Assert.True(result.Succeeded, string.Join('\n', result.LastOutput.Select(l => l.Text)));
        Assert.Equal(new string('a', LayerBytes), (await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value)))["copy"]);
        // Released now: the next prune takes them like any other layer.
        Assert.False(snapshotter.HasLayer(a.DiffId));
        Assert.False(snapshotter.HasLayer(worker.BaseLayer.DiffId));
    }

    [Fact]
    public async Task Layer_mounted_by_another_process_sharing_the_root_is_never_pruned()
    {
        // separate instances stand for separate worker processes: only the layers' lock files coordinate them
        var a = await LayerAsync(worker.Store, "a");
        var root = NewRoot();
        var mounting = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        var pruning = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));

        await using (var view = await mounting.ViewAsync([a], CancellationToken.None))
        {
            Assert.Equal(0, await pruning.PruneAsync(0, CancellationToken.None));
            Assert.True(File.Exists(Path.Combine(view.RootPath, "a")));
        }
        await using (var sealedStep = await mounting.PrepareAsync([a], CancellationToken.None))
        {
            // Unmounted (its changes are being diffed) but not released: only its lease shows the layer in use.
            await mounting.SealAsync(sealedStep, CancellationToken.None);
            Assert.Equal(0, await pruning.PruneAsync(0, CancellationToken.None));
            Assert.Equal(0, await mounting.PruneAsync(0, CancellationToken.None));
        }

        Assert.Equal(LayerBytes, await pruning.PruneAsync(0, CancellationToken.None));
        Assert.False(mounting.HasLayer(a.DiffId));
    }

    [Fact]
    public async Task Pruned_layer_is_extracted_again_when_needed()
    {
        var scratch = NewRoot();
        var shared = new LocalContentStore(Path.Combine(scratch, "shared"));
        var (a, b) = (await LayerAsync(shared, "a"), await LayerAsync(shared, "b"));
        var blobs = new CachingContentStore(shared, Path.Combine(scratch, "blobs"), 64 << 20);
        var unpacker = new CountingUnpacker();
        var snapshotter = new OverlaySnapshotter(blobs, unpacker, new SnapshotterOptions(Path.Combine(scratch, "s")) { CapacityBytes = 150_000 });
        await UseAsync(snapshotter, a, "a");
        await UseAsync(snapshotter, b, "b");
        Assert.False(snapshotter.HasLayer(a.DiffId));
        await shared.DeleteAsync(a.Blob.ParsedDigest); // only this worker's blob cache holds it now

        await UseAsync(snapshotter, a, "a");

        Assert.Equal(3, unpacker.Count);
        Assert.True(snapshotter.HasLayer(a.DiffId));
        Assert.False(snapshotter.HasLayer(b.DiffId));
        Assert.Equal(LayerBytes, snapshotter.LocalBytes);
    }

    [Fact]
    public async Task Snapshot_sizes_and_order_of_use_survive_a_restart()
    {
        var (a, b, c) = (await LayerAsync(worker.Store, "a"), await LayerAsync(worker.Store, "b"), await LayerAsync(worker.Store, "c"));
        var root = NewRoot();
        var first = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        foreach (var (layer, name) in new[] { (a, "a"), (b, "b"), (c, "c") }) await UseAsync(first, layer, name);

        var restarted = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root) { CapacityBytes = 250_000 });

        Assert.Equal(300_000, restarted.LocalBytes);
        Assert.Equal([c.DiffId, b.DiffId, a.DiffId], restarted.LayersByRecentUse());
        await UseAsync(restarted, b, "b"); // over the new cap: a, the least recently used before the restart, goes
        Assert.False(restarted.HasLayer(a.DiffId));
        Assert.Equal([b.DiffId, c.DiffId], restarted.LayersByRecentUse());
    }

    [Fact]
    public async Task Worker_local_bytes_add_the_blob_cache_and_the_snapshots()
    {
        var scratch = NewRoot();
        var blobs = new CachingContentStore(worker.Store, Path.Combine(scratch, "b"), 64 << 20);
        var executor = StepExecutor.Create(blobs, new StepExecutorOptions(Path.Combine(scratch, "w")) { SnapshotCacheBytes = 1L << 30 });
        Assert.Equal(0, executor.LocalBytes);

        var result = await executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["head -c 50000 /dev/zero > /zeros"] },
        }, null, CancellationToken.None);

        Assert.True(result.Succeeded, string.Join('\n', result.LastOutput.Select(l => l.Text)));
        Assert.Equal([result.DiffId!.Value, worker.BaseLayer.DiffId], executor.LocalLayers());
        var busybox = new FileInfo(Path.Combine(worker.Busybox.Directory, "bin/busybox")).Length;
        Assert.InRange(executor.LocalBytes - blobs.LocalBytes, busybox + 50_000, busybox + 60_000);
        Assert.Equal(await blobs.LocalSizeAsync(), blobs.LocalBytes);
        Assert.True(blobs.LocalBytes > 0);
    }
}
