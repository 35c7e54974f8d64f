using BuildFarm.IntegrationTests.Conformance;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>--build-context (issue 15). The folder forms are conformance cases (named-context-*); the image forms are here:
/// docker-image:// compared live with BuildKit (the peer pulls from a registry on loopback), oci-layout:// and target:.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class NamedContextTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private async Task<BuildFarmCli.Result> MustAsync(params string[] args)
    {
        var result = await _scratch.Cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private async Task BuildBaseAsync(string tag)
    {
        var context = _scratch.Context("nc-base", """
            FROM scratch
            ADD rootfs.tar /
            RUN echo base > /base.txt
            """);
        var build = await _scratch.Cli.BuildAsync("-t", tag, context);
        Assert.True(build.ExitCode == 0, build.ToString());
    }

    [Fact]
    public async Task Docker_image_context_replaces_the_image_and_the_stage_as_buildkit_does()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var registry = await RegistryFixture.StartAsync();
        var image = $"{registry.Host}/nc/base:1";
        await BuildBaseAsync("nc-base:1");
        await MustAsync("tag", "nc-base:1", image);
        await MustAsync("push", image);
        var context = _scratch.Context("nc-image", """
            FROM scratch AS tools
            COPY missing-in-context.txt /never.txt

            FROM alpine
            COPY --from=tools /base.txt /copied.txt
            RUN cat /base.txt > /ran.txt
            """);
        string[] flags = ["--build-context", $"alpine=docker-image://{image}", "--build-context", $"tools=docker-image://{image}"];

        var peer = await BuildKitPeer.StartAsync(ExampleContext.RepositoryRoot, timeout.Token);
        var theirsArchive = Path.Combine(_scratch.Root, "buildkit.tar");
        var error = await peer.BuildAsync(context, flags, "bf-named-context-image:1", theirsArchive, timeout.Token);
        Assert.True(error is null, $"BuildKit: {error}");
        var oursArchive = Path.Combine(_scratch.Root, "ours.tar");
        var ours = await _scratch.Cli.BuildAsync([.. flags, "-o", $"type=docker,dest={oursArchive}", context]);
        Assert.True(ours.ExitCode == 0, ours.ToString());

        var theirs = BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(theirsArchive, null, timeout.Token));
        var differences = BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(oursArchive, null, timeout.Token)).DifferencesFrom(theirs);
        Assert.True(differences.Count == 0, string.Join('\n', differences));
        Assert.Contains(theirs.ToLines(), l => l.StartsWith("/copied.txt file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Oci_layout_context_is_the_base_of_from()
    {
        await BuildBaseAsync("nc-layout:1");
        var layoutTar = Path.Combine(_scratch.Root, "layout.tar");
        await MustAsync("save", "--format", "oci", "-o", layoutTar, "nc-layout:1");
        var layout = Path.Combine(_scratch.Root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", layoutTar, "-C", layout);
        var context = _scratch.Context("nc-layout", """
            FROM base
            RUN cat /base.txt > /from-layout.txt
            CMD ["cat", "/from-layout.txt"]
            """);

        var build = await _scratch.Cli.BuildAsync("--build-context", $"base=oci-layout://{layout}", "-t", "nc-layout-app", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal("base", (await MustAsync("run", "nc-layout-app")).Stdout.Trim());
    }

    [Fact]
    public async Task Target_context_points_a_name_at_another_stage()
    {
        var context = _scratch.Context("nc-target", """
            FROM scratch AS real
            ADD rootfs.tar /
            RUN echo real > /who.txt

            FROM scratch
            ADD rootfs.tar /
            COPY --from=other /who.txt /who.txt
            CMD ["cat", "/who.txt"]
            """);

        var build = await _scratch.Cli.BuildAsync("--build-context", "other=target:real", "-t", "nc-target", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal("real", (await MustAsync("run", "nc-target")).Stdout.Trim());
    }
}
