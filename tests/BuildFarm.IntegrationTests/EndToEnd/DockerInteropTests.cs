using System.Text.Json;
using System.Text.Json.Nodes;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>What buildfarm shows and writes, compared with a real dockerd (Debian's docker.io) on the same images.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DockerInteropTests(BusyboxFixture busybox) : IAsyncLifetime
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly DockerDaemonFixture _docker = new();

    public Task InitializeAsync() => _docker.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _docker.DisposeAsync();
        _scratch.Dispose();
    }

    private async Task<BuildFarmCli.Result> MustAsync(BuildFarmCli cli, params string[] args)
    {
        var result = await cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"buildfarm {string.Join(' ', args)}: {result}");
        return result;
    }

    private async Task BuildAppAsync(string name)
    {
        var app = _scratch.Context("app", """
            FROM scratch
            ADD rootfs.tar /
            RUN echo app > /app
            ENV GREETING=hello
            WORKDIR /srv
            LABEL team=farm
            CMD ["cat", "/app"]
            """);
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", name, app)).ExitCode);
    }

    private static JsonNode? Field(string inspectJson, string name) => JsonNode.Parse(inspectJson)![0]![name];

    [Fact]
    public async Task Inspect_and_history_agree_with_docker_on_an_image_docker_pulled()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var name = $"{registry.Host}/farm/app:1";
        await BuildAppAsync(name);
        await MustAsync(_scratch.Cli, "push", name);
        await _docker.DockerAsync("pull", name);

        var ours = (await MustAsync(_scratch.Cli, "inspect", name)).Stdout;
        var theirs = await _docker.DockerAsync("image", "inspect", name);
        foreach (var field in new[] { "Id", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "RootFS" })
            Assert.True(JsonNode.DeepEquals(Field(theirs, field), Field(ours, field)), $"{field}: docker {Field(theirs, field)?.ToJsonString()} buildfarm {Field(ours, field)?.ToJsonString()}");

        // .RootFS is compared as JSON above: printed as a struct it carries a BaseLayer field in docker 20.10 and none in 26.
        const string format = "{{.Config.Entrypoint}}|{{.Config.Volumes}}|{{.Config.Labels}}|{{.Config.Cmd}}|{{json .RootFS}}|{{json .Config.Env}}|{{index .Config.Labels \"team\"}}";
        Assert.Equal(await _docker.DockerAsync("image", "inspect", "--format", format, name),
            (await MustAsync(_scratch.Cli, "inspect", "--format", format, name)).Stdout);

        var dockerHistory = (await _docker.DockerAsync("history", "-q", name)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var ourHistory = (await MustAsync(_scratch.Cli, "history", "-q", name)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(dockerHistory.Length, ourHistory.Length);
    }

    [Fact]
    public async Task Save_and_load_round_trip_through_docker()
    {
        await BuildAppAsync("app:1");
        var id = (await MustAsync(_scratch.Cli, "inspect", "--format", "{{.Id}}", "app:1")).Stdout.Trim();
        var ours = Path.Combine(_scratch.Root, "ours.tar");
        await MustAsync(_scratch.Cli, "save", "-o", ours, "app:1");
        Assert.Contains("app:1", await _docker.DockerAsync("load", "-i", ours));
        Assert.Equal(id, (await _docker.DockerAsync("image", "inspect", "--format", "{{.Id}}", "app:1")).Trim());

        await _docker.DockerAsync("tag", "app:1", "from-docker:2");
        var theirs = Path.Combine(_scratch.Root, "theirs.tar");
        await _docker.DockerAsync("save", "-o", theirs, "from-docker:2");
        var cli = new BuildFarmCli(Path.Combine(_scratch.Root, "loader"));
        Assert.Contains("Loaded image: from-docker:2", (await MustAsync(cli, "load", "-i", theirs)).Stdout);
        Assert.Equal(id, (await MustAsync(cli, "inspect", "--format", "{{.Id}}", "from-docker:2")).Stdout.Trim());
        Assert.Equal("app", (await MustAsync(cli, "run", "from-docker:2")).Stdout.Trim());
    }
}
