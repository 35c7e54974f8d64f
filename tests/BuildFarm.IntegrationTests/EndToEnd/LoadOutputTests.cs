using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>--load into a running docker daemon (the Engine API's POST /images/load), and -o type=tar.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LoadOutputTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string App() => _scratch.Context("app", """
        FROM scratch
        ADD rootfs.tar /
        RUN echo app > /app
        CMD ["cat", "/app"]
        """);

    [Fact]
    public async Task Load_puts_the_tagged_image_into_the_docker_daemon()
    {
        var docker = new DockerDaemonFixture();
        await docker.InitializeAsync();
        try
        {
            await LoadIntoAsync(docker);
        }
        finally
        {
            await docker.DisposeAsync();
        }
    }

    private async Task LoadIntoAsync(DockerDaemonFixture docker)
    {
        _scratch.Cli.Environment["DOCKER_HOST"] = $"unix://{docker.Socket}";
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        var result = await _scratch.Cli.BuildAsync("-t", "farm/loaded:1", "--load", "--metadata-file", metadata, App());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"loading image to docker daemon at unix://{docker.Socket} done", result.Stderr);

        var configDigest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(metadata))!["containerimage.config.digest"]!.GetValue<string>();
        Assert.Equal(configDigest, (await docker.DockerAsync("image", "inspect", "--format", "{{.Id}}", "farm/loaded:1")).Trim());
    }

    [Fact]
    public async Task Load_through_a_server_loads_into_the_clients_daemon()
    {
        var docker = new DockerDaemonFixture();
        await docker.InitializeAsync();
        var serverCli = new BuildFarmCli(Path.Combine(_scratch.Root, "server-home"));
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        var server = HostProcess.Start(serverCli, "buildfarm serving on", "serve", "--listen", address);
        try
        {
            await server.ReadyAsync(TimeSpan.FromMinutes(1));
            _scratch.Cli.Environment["DOCKER_HOST"] = $"unix://{docker.Socket}";
            _scratch.Cli.Environment["DOCKER_CONFIG"] = Path.Combine(_scratch.Root, "client-docker");
            var metadata = Path.Combine(_scratch.Root, "served.json");
            var result = await _scratch.Cli.BuildAsync("--server", address, "-t", "farm/served:1", "--load", "--metadata-file", metadata, App());
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("loading image to docker daemon at", result.Stderr);
            var configDigest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(metadata))!["containerimage.config.digest"]!.GetValue<string>();
            Assert.Equal(configDigest, (await docker.DockerAsync("image", "inspect", "--format", "{{.Id}}", "farm/served:1")).Trim());
        }
        finally
        {
            await server.DisposeAsync();
            await docker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Load_without_a_daemon_keeps_the_image_in_the_farm_store_and_says_so()
    {
        _scratch.Cli.Environment["DOCKER_HOST"] = "";
        var result = await _scratch.Cli.BuildAsync("-t", "farm/kept:1", "--load", App());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("--load: no docker daemon", result.Stderr);
        Assert.Equal(0, (await _scratch.Cli.RunAsync("inspect", "farm/kept:1")).ExitCode);
    }

    [Fact]
    public async Task Load_to_a_daemon_that_is_not_there_fails_naming_it()
    {
        var socket = Path.Combine(_scratch.Root, "none.sock");
        _scratch.Cli.Environment["DOCKER_HOST"] = $"unix://{socket}";
        var result = await _scratch.Cli.BuildAsync("-t", "farm/nowhere:1", "--load", App());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"--load: cannot reach the docker daemon at unix://{socket}", result.Stderr);
    }

    [Fact]
    public async Task Output_image_with_push_and_output_registry_push_the_image_as_buildx()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var pushed = $"{registry.Host}/farm/image:1";
        var viaRegistry = $"{registry.Host}/farm/registry:1";
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        var result = await _scratch.Cli.BuildAsync("-o", $"type=image,name={pushed},push=true", "-o", $"type=registry,name={viaRegistry}",
            "--metadata-file", metadata, App());
        Assert.True(result.ExitCode == 0, result.ToString());

        var digest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(metadata))!["containerimage.digest"]!.GetValue<string>();
        foreach (var name in new[] { pushed, viaRegistry })
        {
            var inspected = System.Text.Json.Nodes.JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{name}"))!;
            Assert.Equal(digest, inspected["Digest"]!.GetValue<string>());
        }
        // type=image names the image in the image store too; type=registry only pushes
        Assert.Equal(0, (await _scratch.Cli.RunAsync("inspect", pushed)).ExitCode);
        Assert.NotEqual(0, (await _scratch.Cli.RunAsync("inspect", viaRegistry)).ExitCode);
    }

    [Fact]
    public async Task Output_tar_holds_the_same_tree_as_output_local()
    {
        var tar = Path.Combine(_scratch.Root, "fs.tar");
        var local = Path.Combine(_scratch.Root, "fs");
        var result = await _scratch.Cli.BuildAsync("-o", $"type=tar,dest={tar}", "-o", $"type=local,dest={local}", App());
        Assert.True(result.ExitCode == 0, result.ToString());
        var listed = (await BuildFarmCli.ToolAsync("tar", "-tf", tar)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.TrimEnd('/')).Select(p => p.StartsWith("./", StringComparison.Ordinal) ? p[2..] : p).Where(p => p.Length > 0 && p != ".").Order(StringComparer.Ordinal).ToList();
        var walked = Directory.EnumerateFileSystemEntries(local, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(local, p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(walked, listed);
        Assert.Equal("app\n", await BuildFarmCli.ToolAsync("tar", "-xOf", tar, "app"));
    }
}
