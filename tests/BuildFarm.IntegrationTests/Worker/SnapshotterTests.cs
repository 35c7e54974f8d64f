using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class SnapshotterTests(WorkerFixture worker)
{
    private string NewRoot() => Directory.CreateDirectory(Path.Combine(worker.Root, "t" + Guid.NewGuid().ToString("N")[..6])).FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writable_snapshot_unmounts_without_syncing_the_filesystem(bool mountSyscallOnly)
    {
        // 'volatile': the unmount of a step's overlay skips syncfs of the whole upper filesystem; a read-only view has none
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(NewRoot()) { MountSyscallOnly = mountSyscallOnly });
        await using var step = await snapshotter.PrepareAsync([worker.BaseLayer], CancellationToken.None);
        await using var view = await snapshotter.ViewAsync([worker.BaseLayer], CancellationToken.None);

        // shown as 'volatile', or 'fsync=volatile' since Linux 6.12
        Assert.Contains(MountOptionsOf(step.RootPath), o => o is "volatile" or "fsync=volatile");
        Assert.DoesNotContain(MountOptionsOf(view.RootPath), o => o is "volatile" or "fsync=volatile");
        File.WriteAllText(Path.Combine(step.RootPath, "written"), "x");
        await snapshotter.SealAsync(step, CancellationToken.None);
        Assert.Equal("x", File.ReadAllText(Path.Combine(step.UpperPath!, "written")));
    }

    /// <summary>The superblock options /proc/self/mountinfo gives for the mount at <paramref name="target"/>.</summary>
    private static string[] MountOptionsOf(string target)
    {
        var full = Path.GetFullPath(target);
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields[4] != full) continue;
            return fields[^1].Split(',');
        }
        throw new InvalidOperationException($"{full} is not mounted");
    }

    [Fact]
    public async Task Concurrent_requests_for_one_layer_extract_it_once()
    {
        var unpacker = new CountingUnpacker();
        var snapshotter = new OverlaySnapshotter(worker.Store, unpacker, new SnapshotterOptions(NewRoot()));

        var dirs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => snapshotter.EnsureLayerAsync(worker.BaseLayer, CancellationToken.None)));

        Assert.Equal(1, unpacker.Count);
        Assert.Single(dirs.Distinct());
        Assert.True(File.Exists(Path.Combine(dirs[0], "bin/busybox")));
    }

    [Fact]
    public async Task Two_snapshotters_sharing_a_root_extract_a_layer_once()
    {
        // separate instances stand for separate worker processes: only the lock file coordinates them
        var root = NewRoot();
        var unpacker = new CountingUnpacker();
        var first = new OverlaySnapshotter(worker.Store, unpacker, new SnapshotterOptions(root));
        var second = new OverlaySnapshotter(worker.Store, unpacker, new SnapshotterOptions(root));

        await Task.WhenAll(
            first.EnsureLayerAsync(worker.BaseLayer, CancellationToken.None),
            second.EnsureLayerAsync(worker.BaseLayer, CancellationToken.None));

        Assert.Equal(1, unpacker.Count);
    }

    [Fact]
    public async Task Extraction_waits_for_another_process_holding_the_layer_lock()
    {
        var root = NewRoot();
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        var lockFile = Path.Combine(root, "layers", worker.BaseLayer.DiffId.Hex + ".lock");
        var ready = Path.Combine(root, "holder-ready");
        var start = new System.Diagnostics.ProcessStartInfo("flock");
        foreach (var a in new[] { "-x", lockFile, "-c", $"touch {ready}; sleep 1" }) start.ArgumentList.Add(a);
        using var holder = System.Diagnostics.Process.Start(start)!;
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); !File.Exists(ready) && wait.Elapsed < TimeSpan.FromSeconds(30);)
            await Task.Delay(10);
        Assert.True(File.Exists(ready));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await snapshotter.EnsureLayerAsync(worker.BaseLayer, CancellationToken.None);
        // Measured from the holder's own mark: it keeps the lock 1 s after writing it, however late this test saw it.
        var sinceLocked = DateTime.UtcNow - File.GetLastWriteTimeUtc(ready);

        Assert.True(holder.HasExited, "the layer was extracted while another process held its lock");
        Assert.True(sinceLocked >= TimeSpan.FromMilliseconds(900), $"extracted {sinceLocked} after the holder took the lock");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Prune_deletes_least_recently_used_layers_that_no_mount_uses()
    {
        var root = NewRoot();
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        var source = Path.Combine(root, "src");
        var small = new List<LayerRef>();
        foreach (var name in new[] { "a", "b" })
        {
            Directory.CreateDirectory(source);
            File.WriteAllText(Path.Combine(source, name), new string('x', 10_000));
            small.Add(await worker.AddLayerFromDirectoryAsync(source));
            Directory.Delete(source, recursive: true);
        }
        await snapshotter.EnsureLayerAsync(small[1], CancellationToken.None);
        await using (var inUse = await snapshotter.ViewAsync([worker.BaseLayer, small[0]], CancellationToken.None))
        {
            var freed = await snapshotter.PruneAsync(0, CancellationToken.None);

            Assert.InRange(freed, 10_000, 20_000);
            Assert.False(snapshotter.HasLayer(small[1].DiffId));
            Assert.True(snapshotter.HasLayer(small[0].DiffId));
            Assert.True(snapshotter.HasLayer(worker.BaseLayer.DiffId));
            Assert.True(File.Exists(Path.Combine(inUse.RootPath, "a")));
        }

        await snapshotter.PruneAsync(0, CancellationToken.None);

        Assert.False(snapshotter.HasLayer(small[0].DiffId));
        Assert.False(snapshotter.HasLayer(worker.BaseLayer.DiffId));
        await using var again = await snapshotter.ViewAsync([worker.BaseLayer], CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(again.RootPath, "bin/busybox")));
    }

    [Fact]
    public async Task Usage_follows_extraction_use_and_prune_and_a_restarted_snapshotter_finds_it_again()
    {
        var root = NewRoot();
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        var source = Path.Combine(root, "src");
        var layers = new List<LayerRef>();
        foreach (var name in new[] { "a", "b" })
        {
            Directory.CreateDirectory(source);
            File.WriteAllText(Path.Combine(source, name), new string('x', 10_000));
            layers.Add(await worker.AddLayerFromDirectoryAsync(source));
            Directory.Delete(source, recursive: true);
        }
        string a = layers[0].DiffId.ToString(), b = layers[1].DiffId.ToString();

        await snapshotter.EnsureLayerAsync(layers[0], CancellationToken.None);
        await snapshotter.EnsureLayerAsync(layers[1], CancellationToken.None);
        Assert.Equal(20_000L, snapshotter.LocalBytes);
        Assert.Equal([b, a], Recent(snapshotter, 10));
        await snapshotter.EnsureLayerAsync(layers[0], CancellationToken.None); // used again: first
        Assert.Equal([a, b], Recent(snapshotter, 10));
        Assert.Equal([a], Recent(snapshotter, 1));

        var restarted = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));
        Assert.Equal(20_000L, restarted.LocalBytes);
        Assert.Equal(2, Recent(restarted, 10).Count);

        await restarted.PruneAsync(0, CancellationToken.None);
        Assert.Equal(0L, restarted.LocalBytes);
        Assert.Empty(Recent(restarted, 10));
    }

    private static List<string> Recent(OverlaySnapshotter snapshotter, int max) =>
        snapshotter.LayersByRecentUse().Take(max).Select(d => d.ToString()).ToList();

    [Fact]
    public async Task Chain_too_long_for_one_mount_is_flattened_with_whiteouts_applied()
    {
        var one = await worker.RunAsync("echo 1 > /one && echo gone > /gone");
        var l1 = new LayerRef(one.Layer!, one.DiffId!.Value);
        var two = await worker.RunAsync("echo 2 > /two && rm /gone /bin/cat", [worker.BaseLayer, l1]);
        var chain = new List<LayerRef> { worker.BaseLayer, l1, new(two.Layer!, two.DiffId!.Value) };
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(NewRoot()) { MaxMountOptionsLength = 60, MountSyscallOnly = true });

        await using var view = await snapshotter.PrepareAsync(chain, CancellationToken.None);

        Assert.Equal("1\n", File.ReadAllText(Path.Combine(view.RootPath, "one")));
        Assert.Equal("2\n", File.ReadAllText(Path.Combine(view.RootPath, "two")));
        Assert.False(File.Exists(Path.Combine(view.RootPath, "gone")));
        Assert.False(File.Exists(Path.Combine(view.RootPath, "bin/cat")));
        Assert.True(File.Exists(Path.Combine(view.RootPath, "bin/busybox")));
    }

    [Fact]
    public async Task Chain_of_a_hundred_layers_is_stacked_by_overlay_through_short_links()
    {
        var chain = new List<LayerRef> { worker.BaseLayer };
        var source = Path.Combine(worker.Root, "layers-src-" + Guid.NewGuid().ToString("N")[..6]);
        for (var i = 0; i < 100; i++)
        {
            Directory.CreateDirectory(source);
            File.WriteAllText(Path.Combine(source, $"f{i:D3}"), $"layer {i}");
            chain.Add(await worker.AddLayerFromDirectoryAsync(source));
            Directory.Delete(source, recursive: true);
        }
        var root = NewRoot();
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root) { MountSyscallOnly = true });

        await using var snapshot = await snapshotter.PrepareAsync(chain, CancellationToken.None);

        Assert.True(MountTable.IsMountPoint(snapshot.RootPath));
        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
        Assert.Equal("layer 0", File.ReadAllText(Path.Combine(snapshot.RootPath, "f000")));
        Assert.Equal("layer 99", File.ReadAllText(Path.Combine(snapshot.RootPath, "f099")));
    }

    [Fact]
    public async Task Without_overlay_run_steps_give_the_same_trees_by_copying()
    {
        var copying = worker.CreateExecutor(new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(),
            new SnapshotterOptions(NewRoot()) { CopyInsteadOfOverlay = true }));

        async Task<List<string>> TreeAfterBothSteps(StepExecutor executor)
        {
            var chain = new List<LayerRef> { worker.BaseLayer };
            foreach (var command in new[] { RunStepTests.PrepareParent, RunStepTests.ChangeEverything })
            {
                var result = await executor.ExecuteAsync(new StepRequest { Parents = chain.ToList(), Operation = new RunOperation { Command = [command] } }, null, CancellationToken.None);
                Assert.True(result.Succeeded, string.Join('\n', result.LastOutput.Select(l => l.Text)));
                chain.Add(new LayerRef(result.Layer!, result.DiffId!.Value));
            }
            var dir = await worker.ExtractAsync(chain);
            try { return TreeListing.Of(dir).ToList(); }
            finally { Directory.Delete(dir, recursive: true); }
        }

        var byOverlay = await TreeAfterBothSteps(worker.Executor);
        var byCopy = await TreeAfterBothSteps(copying);

        Assert.Equal(byOverlay, byCopy);
        Assert.Contains(byCopy, l => l.StartsWith("/data/dir 644 0:0 file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task New_snapshotter_unmounts_what_a_crashed_process_left()
    {
        var root = NewRoot();
        var deadPid = Enumerable.Range(3_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
        var stale = Path.Combine(root, "mnt", $"{deadPid}-1", "m");
        Directory.CreateDirectory(stale);
        BuildFarm.Worker.Native.LinuxNative.MountOrThrow("tmpfs", stale, "tmpfs", 0, "size=1m");
        Assert.True(MountTable.IsMountPoint(stale));

        _ = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(), new SnapshotterOptions(root));

        Assert.False(MountTable.IsMountPoint(stale));
        Assert.False(Directory.Exists(Path.GetDirectoryName(stale)));
    }

    [Fact]
    public async Task Failed_steps_leave_no_mounts_behind()
    {
        var failedRun = await worker.RunAsync("exit 7");
        await Assert.ThrowsAsync<BuildFarm.Worker.FileOps.CopyException>(() => worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new CopyOperation { Sources = ["missing"], Destination = "/x" },
            ContextDirectory = worker.Root,
        }, null, CancellationToken.None));

        Assert.Equal(7, failedRun.ExitCode);
        Assert.Empty(MountTable.MountPointsUnder(worker.Root));
    }
}
