using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The layers of one image go to and from a registry side by side, as docker pull/push move them.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ParallelBlobTransferTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    /// <summary>Builds an image of three layers (busybox and two small ones) in the scratch home, tagged <paramref name="name"/>.</summary>
    private async Task BuildThreeLayersAsync(string name)
    {
        var context = _scratch.Context("three", "FROM scratch\nADD rootfs.tar /\nRUN echo one > /one\nRUN echo two > /two\n");
        var build = await _scratch.Cli.BuildAsync("-t", name, context);
        Assert.True(build.ExitCode == 0, build.ToString());
    }

    [Fact]
    public async Task Build_from_a_registry_base_downloads_its_layers_side_by_side()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var image = $"{registry.Host}/farm/three:1";
        await BuildThreeLayersAsync(image);
        Assert.Equal(0, (await _scratch.Cli.RunAsync("push", image)).ExitCode);

        await using var proxy = new RegistryFaultProxy(registry.Port);
        var fresh = new BuildFarmCli(Path.Combine(_scratch.Root, "fresh"));
        var build = await fresh.BuildAsync(_scratch.Context("user", $"FROM {proxy.Host}/farm/three:1\nRUN cat /one /two\n"));

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(proxy.PeakConnections >= 2, $"the base's blobs came one after another ({proxy.PeakConnections} connection at most)");
    }

    [Fact]
    public async Task Push_uploads_the_layers_side_by_side()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await using var proxy = new RegistryFaultProxy(registry.Port);
        var image = $"{proxy.Host}/farm/three:1";
        await BuildThreeLayersAsync(image);

        var push = await _scratch.Cli.RunAsync("push", image);

        Assert.True(push.ExitCode == 0, push.ToString());
        Assert.Equal(3, push.Stdout.Split('\n').Count(l => l.EndsWith(": Pushed", StringComparison.Ordinal)));
        Assert.True(proxy.PeakConnections >= 2, $"the layers went one after another ({proxy.PeakConnections} connection at most)");
    }
}
