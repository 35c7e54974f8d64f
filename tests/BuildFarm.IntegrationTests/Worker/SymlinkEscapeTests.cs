using System.Diagnostics;
using System.Formats.Tar;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Fault injection (issue 17, item 1): a step that leaves a symlink to a host folder must give a layer of
/// exactly that symlink, sized as a symlink — sizing and diffing never follow it onto the host.</summary>
[Collection(WorkerCollection.Name)]
public sealed class SymlinkEscapeTests(WorkerFixture worker)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/usr/share")]
    public async Task Run_step_linking_to_a_host_folder_gives_a_small_one_symlink_layer_quickly(string target)
    {
        var clock = Stopwatch.StartNew();
        var result = await worker.RunAsync($"ln -s {target} /x");
        clock.Stop();

        Assert.True(result.Succeeded, string.Join("\n", result.LastOutput.Select(l => l.Text)));
        var entries = await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        var entry = Assert.Single(entries);
        Assert.Equal("x", entry.Key);
        Assert.Equal(TarEntryType.SymbolicLink, entry.Value.Type);
        Assert.Equal(target, entry.Value.LinkName);
        Assert.InRange(worker.Snapshotter.LocalLayerBytes(result.DiffId!.Value) ?? -1, 0, 0);
        Assert.True(result.Layer!.Size < 4096, $"layer blob is {result.Layer.Size} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"step took {clock.Elapsed}");
    }
}
