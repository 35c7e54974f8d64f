using System.Text.Json;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>save</c>/<c>load</c> with Docker archives and OCI layout tars, checked against skopeo.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SaveLoadTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private static async Task<BuildFarmCli.Result> MustAsync(BuildFarmCli cli, params string[] args)
    {
        var result = await cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"buildfarm {string.Join(' ', args)}: {result}");
        return result;
    }

    private BuildFarmCli FreshCli(string name) => new(Path.Combine(_scratch.Root, name));

    private async Task BuildBaseAndAppAsync()
    {
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", "base:1", _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\nCMD [\"sh\"]\n"))).ExitCode);
        var app = _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\nRUN echo app > /app\nCMD [\"cat\", \"/app\"]\n");
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", "app:1", app)).ExitCode);
    }

    private static async Task<string> IdAsync(BuildFarmCli cli, string name) =>
        (await MustAsync(cli, "inspect", "--format", "{{.Id}}", name)).Stdout.Trim();

    [Fact]
    public async Task Save_and_load_round_trip_two_images_through_one_docker_archive()
    {
        await BuildBaseAndAppAsync();
        var archive = Path.Combine(_scratch.Root, "both.tar");
        await MustAsync(_scratch.Cli, "save", "-o", archive, "base:1", "app:1");

        var cli = FreshCli("loader");
        var load = await MustAsync(cli, "load", "-i", archive);
        Assert.Contains("Loaded image: base:1", load.Stdout);
        Assert.Contains("Loaded image: app:1", load.Stdout);
        Assert.Equal(await IdAsync(_scratch.Cli, "app:1"), await IdAsync(cli, "app:1"));
        Assert.Equal(await IdAsync(_scratch.Cli, "base:1"), await IdAsync(cli, "base:1"));
        Assert.Equal("app", (await MustAsync(cli, "run", "app:1")).Stdout.Trim());
    }

    [Fact]
    public async Task A_docker_archive_saved_here_is_read_by_skopeo_and_one_skopeo_wrote_loads_here()
    {
        await BuildBaseAndAppAsync();
        var ours = Path.Combine(_scratch.Root, "ours.tar");
        await MustAsync(_scratch.Cli, "save", "-o", ours, "app:1");
        using var config = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--config", "--raw", $"docker-archive:{ours}"));
        Assert.Equal(2, config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());

        var theirs = Path.Combine(_scratch.Root, "theirs.tar");
        await BuildFarmCli.ToolAsync("skopeo", "copy", $"docker-archive:{ours}", $"docker-archive:{theirs}:team/copied:2");
        var cli = FreshCli("skopeo-loader");
        Assert.Contains("Loaded image: team/copied:2", (await MustAsync(cli, "load", "-i", theirs)).Stdout);
        Assert.Equal(await IdAsync(_scratch.Cli, "app:1"), await IdAsync(cli, "team/copied:2"));
        Assert.Equal("app", (await MustAsync(cli, "run", "team/copied:2")).Stdout.Trim());
    }

    [Fact]
    public async Task Save_in_oci_format_names_each_image_for_skopeo_and_loads_back()
    {
        await BuildBaseAndAppAsync();
        var archive = Path.Combine(_scratch.Root, "oci.tar");
        await MustAsync(_scratch.Cli, "save", "--format", "oci", "-o", archive, "base:1", "app:1");
        var digest = (await MustAsync(_scratch.Cli, "images", "--digests", "--no-trunc")).Stdout.Split('\n')
            .Single(l => l.StartsWith("app ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
        using var inspect = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", $"oci-archive:{archive}:app:1"));
        Assert.Equal(digest, inspect.RootElement.GetProperty("Digest").GetString());

        var cli = FreshCli("oci-loader");
        var load = await MustAsync(cli, "load", "-i", archive);
        Assert.Contains("Loaded image: app:1", load.Stdout);
        Assert.Contains("Loaded image: base:1", load.Stdout);
        Assert.Equal("app", (await MustAsync(cli, "run", "app:1")).Stdout.Trim());
    }

    [Fact]
    public async Task Load_of_a_file_that_is_not_an_image_archive_is_a_clear_error()
    {
        var notAnArchive = Path.Combine(_scratch.Root, "plain.tar");
        await BuildFarmCli.ToolAsync("tar", "-cf", notAnArchive, "-C", _scratch.Context("junk", "FROM scratch\n"), "Dockerfile");
        var load = await _scratch.Cli.RunAsync("load", "-i", notAnArchive);
        Assert.Equal(1, load.ExitCode);
        Assert.Contains("neither manifest.json", load.Stderr);
        Assert.Contains(notAnArchive, load.Stderr);
        var missing = await _scratch.Cli.RunAsync("load", "-i", Path.Combine(_scratch.Root, "nope.tar"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no such file", missing.Stderr);
    }
}
