using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Chains as a long Dockerfile builds them: each step's layer is the next step's top parent.</summary>
[Collection(WorkerCollection.Name)]
public sealed class LongChainTests(WorkerFixture worker)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fifty_empty_run_steps_stack_by_overlay_without_a_lowerdir_each(bool mountSyscallOnly)
    {
        var (root, executor, snapshotter) = NewWorker(mountSyscallOnly);
        var chain = new List<LayerRef> { worker.BaseLayer };
        for (var i = 0; i < 50; i++) chain.Add(await RunOkAsync(executor, "true", chain));

        await using var snapshot = await snapshotter.PrepareAsync(chain, CancellationToken.None);

        // every step mounted by overlay: neither the copy fallback nor flattening made a flat folder
        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
        Assert.Single(LowerDirsOf(snapshot.RootPath));
        Assert.True(File.Exists(Path.Combine(snapshot.RootPath, "bin/busybox")));
    }

    [Fact]
    public async Task Fifty_distinct_run_steps_each_see_all_earlier_ones()
    {
        var (root, executor, snapshotter) = NewWorker();
        var chain = new List<LayerRef> { worker.BaseLayer };
        for (var i = 0; i < 50; i++)
            chain.Add(await RunOkAsync(executor, $"test $(ls /f* 2>/dev/null | wc -l) -eq {i} && echo {i} > /f{i}", chain));

        await using var view = await snapshotter.ViewAsync(chain, CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
        Assert.Equal(51, LowerDirsOf(view.RootPath).Count);
        Assert.Equal("0\n", File.ReadAllText(Path.Combine(view.RootPath, "f0")));
        Assert.Equal("49\n", File.ReadAllText(Path.Combine(view.RootPath, "f49")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Layer_repeated_in_a_chain_is_stacked_once_and_its_top_copy_wins(bool mountSyscallOnly)
    {
        StepRequest Epoch(StepRequest r) => r with { SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
        var (root, executor, snapshotter) = NewWorker(mountSyscallOnly);
        var chain = new List<LayerRef> { worker.BaseLayer };
        chain.Add(await RunOkAsync(executor, "echo a > /x", chain, Epoch));
        chain.Add(await RunOkAsync(executor, "echo b > /x", chain, Epoch));
        chain.Add(await RunOkAsync(executor, "echo a > /x", chain, Epoch));
        Assert.Equal(chain[1].DiffId, chain[3].DiffId);

        var next = await RunOkAsync(executor, "test \"$(cat /x)\" = a && echo ok > /checked", chain);
        await using var view = await snapshotter.ViewAsync([.. chain, next], CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
        Assert.Equal("a\n", File.ReadAllText(Path.Combine(view.RootPath, "x")));
        Assert.Equal(4, LowerDirsOf(view.RootPath).Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task View_of_an_empty_chain_is_an_empty_overlay(bool mountSyscallOnly)
    {
        var (root, _, snapshotter) = NewWorker(mountSyscallOnly);

        await using var view = await snapshotter.ViewAsync([], CancellationToken.None);

        Assert.True(MountTable.IsMountPoint(view.RootPath));
        Assert.Empty(Directory.GetFileSystemEntries(view.RootPath));
        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
    }

    [Fact]
    public async Task Chain_of_120_layers_is_stacked_without_flattening_and_a_step_on_it_sees_every_layer()
    {
        var (root, executor, snapshotter) = NewWorker();
        var chain = new List<LayerRef> { worker.BaseLayer };
        var source = Path.Combine(worker.Root, "layers-src-" + Guid.NewGuid().ToString("N")[..6]);
        for (var i = 0; i < 120; i++)
        {
            Directory.CreateDirectory(source);
            File.WriteAllText(Path.Combine(source, $"f{i:D3}"), $"{i}\n");
            chain.Add(await worker.AddLayerFromDirectoryAsync(source));
            Directory.Delete(source, recursive: true);
        }

        var step = await RunOkAsync(executor, "test $(cat /f* | wc -l) -eq 120 && cat /f000 /f119 > /ends", chain);
        await using var view = await snapshotter.ViewAsync([.. chain, step], CancellationToken.None);

        Assert.Equal("0\n119\n", File.ReadAllText(Path.Combine(view.RootPath, "ends")));
        // 122 layers: past one page of mount(2) options, stacked one lowerdir+ each, not flattened
        Assert.Equal(122, LowerDirsOf(view.RootPath).Count);
        Assert.False(Directory.Exists(Path.Combine(root, "flat")));
        Assert.Contains(Path.Combine(root, "layers", chain[0].DiffId.Hex), MountTable.OverlayLowerDirs());
    }

    [Fact]
    public async Task Chain_past_the_mount_option_limit_flattens_its_bottom_once_for_the_steps_that_follow()
    {
        var root = Directory.CreateDirectory(Path.Combine(worker.Root, "t" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(),
            new SnapshotterOptions(root) { MountSyscallOnly = true, MaxMountOptionsLength = 1000 });
        var executor = worker.CreateExecutor(snapshotter);
        var chain = new List<LayerRef> { worker.BaseLayer };
        for (var i = 1; i < 40; i++) chain.Add(await worker.AddLayerFromDirectoryAsync(OneFileFolder($"f{i:D2}", $"{i}\n")));

        // each step stacks its own new layer over the one flat bottom and the layers above it
        for (var i = 40; i < 44; i++)
            chain.Add(await RunOkAsync(executor, i == 40 ? "test $(cat /f* | wc -l) -eq 39 && rm /f01 && echo 40 > /f40"
                : $"test $(cat /f* | wc -l) -eq {i - 2} && echo {i} > /f{i}", chain));
        await using var view = await snapshotter.ViewAsync(chain, CancellationToken.None);

        Assert.Single(Directory.GetDirectories(Path.Combine(root, "flat")));
        Assert.Equal(chain.Count - 32 + 1, LowerDirsOf(view.RootPath).Count);
        Assert.False(File.Exists(Path.Combine(view.RootPath, "f01")));
        Assert.Equal("2\n", File.ReadAllText(Path.Combine(view.RootPath, "f02")));
        Assert.Equal("43\n", File.ReadAllText(Path.Combine(view.RootPath, "f43")));
    }

    private string OneFileFolder(string name, string content)
    {
        var dir = Directory.CreateDirectory(Path.Combine(worker.Root, "src-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.WriteAllText(Path.Combine(dir, name), content);
        return dir;
    }

    private (string Root, StepExecutor Executor, OverlaySnapshotter Snapshotter) NewWorker(bool mountSyscallOnly = false)
    {
        var root = Directory.CreateDirectory(Path.Combine(worker.Root, "t" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var snapshotter = new OverlaySnapshotter(worker.Store, new OciLayerUnpacker(),
            new SnapshotterOptions(root) { MountSyscallOnly = mountSyscallOnly });
        return (root, worker.CreateExecutor(snapshotter), snapshotter);
    }

    private static async Task<LayerRef> RunOkAsync(StepExecutor executor, string command, IReadOnlyList<LayerRef> parents,
        Func<StepRequest, StepRequest>? configure = null)
    {
        var request = new StepRequest { Parents = [.. parents], Operation = new RunOperation { Command = [command] } };
        var result = await executor.ExecuteAsync(configure is null ? request : configure(request), null, CancellationToken.None);
        Assert.True(result.Succeeded, $"'{command}' exited {result.ExitCode}: {string.Join('\n', result.LastOutput.Select(l => l.Text))}");
        return new LayerRef(result.Layer!, result.DiffId!.Value);
    }

    /// <summary>The lowerdirs the kernel holds for the overlay mounted at <paramref name="mountPoint"/>.</summary>
    private static IReadOnlyList<string> LowerDirsOf(string mountPoint)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (fields[4] != mountPoint || separator < 0 || fields[separator + 1] != "overlay") continue;
            return fields[separator + 3].Split(',')
                .SelectMany(o => o.StartsWith("lowerdir=", StringComparison.Ordinal) ? o["lowerdir=".Length..].Split(':')
                    : o.StartsWith("lowerdir+=", StringComparison.Ordinal) ? [o["lowerdir+=".Length..]] : [])
                .ToList();
        }
        throw new InvalidOperationException($"no overlay mounted at {mountPoint}");
    }
}
