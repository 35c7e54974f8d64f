using System.Text.Json;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Issue 19, reproducible layers: with SOURCE_DATE_EPOCH two workers (two homes, one run each) make byte-identical
/// layers and the same manifest digest; without it, the cache key makes a rebuild reuse the one result.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ReproducibleBuildTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = """
        FROM scratch
        ADD rootfs.tar /
        RUN mkdir -p /app/data && echo made > /app/data/made && ln -s data /app/link
        COPY conf.txt /app/conf.txt
        WORKDIR /app
        """;

    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Same_build_on_two_workers_with_source_date_epoch_gives_identical_layers_and_manifest_digest()
    {
        var context = _scratch.Context("ctx", Dockerfile, ("conf.txt", "setting=1\n"));
        var first = await BuildAsync(new BuildFarmCli(Path.Combine(_scratch.Root, "home-a")), context, "a", sourceDateEpoch: "1700000000");
        var second = await BuildAsync(new BuildFarmCli(Path.Combine(_scratch.Root, "home-b")), context, "b", sourceDateEpoch: "1700000000");

        Assert.Equal(first.ManifestDigest, second.ManifestDigest);
        Assert.Equal(first.LayerBlobs, second.LayerBlobs);
    }

    [Fact]
    public async Task Without_source_date_epoch_a_rebuild_reuses_the_cached_result()
    {
        var context = _scratch.Context("ctx", Dockerfile, ("conf.txt", "setting=1\n"));
        var first = await BuildAsync(_scratch.Cli, context, "a", sourceDateEpoch: null);
        var second = await BuildAsync(_scratch.Cli, context, "b", sourceDateEpoch: null);

        Assert.Empty(new PlainProgress(second.Output).Executed);
        Assert.Equal(first.LayerBlobs, second.LayerBlobs);
    }

    private sealed record Built(string ManifestDigest, IReadOnlyList<string> LayerBlobs, string Output);

    private async Task<Built> BuildAsync(BuildFarmCli cli, string context, string name, string? sourceDateEpoch)
    {
        if (sourceDateEpoch is not null) cli.Environment["SOURCE_DATE_EPOCH"] = sourceDateEpoch;
        var metadata = Path.Combine(_scratch.Root, name + ".json");
        var oci = Path.Combine(_scratch.Root, name + ".oci.tar");
        var build = await cli.BuildAsync("--metadata-file", metadata, "-o", $"type=oci,dest={oci}", context);
        Assert.True(build.ExitCode == 0, build.ToString());
        using var meta = JsonDocument.Parse(await File.ReadAllTextAsync(metadata));
        var manifest = meta.RootElement.GetProperty("containerimage.digest").GetString()!;
        var inspect = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", $"oci-archive:{oci}");
        using var raw = JsonDocument.Parse(inspect);
        var layers = raw.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        return new Built(manifest, layers, build.Stdout + build.Stderr);
    }
}
