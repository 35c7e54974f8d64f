using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Outputs of a build sent to <c>buildfarm serve</c>: file outputs come back to the client (the same bytes and tree as an
/// embedded build), the farm pushes with the credentials the client sent, and <c>images</c>/<c>rmi --server</c> act on
/// the server's store. Every test runs a real server process with its own home.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeOutputsTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = "FROM scratch\nADD rootfs.tar /\nRUN mkdir -p /app && echo served > /app/note && ln -s note /app/link && chmod 0640 /app/note\n";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("oci")]
    [InlineData("docker")]
    [InlineData("tar")]
    public async Task File_output_through_a_server_has_the_bytes_of_the_embedded_build(string type)
    {
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync();
        var client = Client("client");
        var embedded = Client("embedded");
        var remoteFile = Path.Combine(_scratch.Root, "out", $"remote.{type}.tar");
        var embeddedFile = Path.Combine(_scratch.Root, "out", $"embedded.{type}.tar");

        var remote = await client.BuildAsync("--server", server.Address, "-t", "app:1", "-o", $"type={type},dest={remoteFile}", context);
        Assert.True(remote.ExitCode == 0, remote + server.Host.ToString());
        var local = await embedded.BuildAsync("-t", "app:1", "-o", $"type={type},dest={embeddedFile}", context);
        Assert.True(local.ExitCode == 0, local.ToString());

        Assert.Equal(await File.ReadAllBytesAsync(embeddedFile), await File.ReadAllBytesAsync(remoteFile));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(remoteFile)!, "*.tmp"));
    }

    [Fact]
    public async Task Local_output_through_a_server_writes_the_tree_of_the_embedded_build()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync();
        var remoteDir = Path.Combine(_scratch.Root, "remote-tree");
        var embeddedDir = Path.Combine(_scratch.Root, "embedded-tree");

        var remote = await Client("client").BuildAsync("--server", server.Address, "-o", $"type=local,dest={remoteDir}", context);
        Assert.True(remote.ExitCode == 0, remote + server.Host.ToString());
        var local = await Client("embedded").BuildAsync("-o", $"type=local,dest={embeddedDir}", context);
        Assert.True(local.ExitCode == 0, local.ToString());

        var remoteTree = await TreeAsync(remoteDir);
        Assert.Contains("app/note f 640 0 0 7", remoteTree);
        Assert.Contains("app/link l 777 0 0", remoteTree);
        Assert.Equal(await TreeAsync(embeddedDir), remoteTree);
    }

    [Fact]
    public async Task Oci_output_to_stdout_through_a_server_is_the_archive_a_file_output_gets()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync();
        var client = Client("client");
        var file = Path.Combine(_scratch.Root, "file.tar");
        var toFile = await client.BuildAsync("--server", server.Address, "-o", $"type=oci,dest={file}", context);
        Assert.True(toFile.ExitCode == 0, toFile.ToString());

        using var process = client.Start("build", "--progress", "plain", "--server", server.Address, "-o", "type=oci,dest=-", context);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        using var stdout = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(stdout);
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Equal(await File.ReadAllBytesAsync(file), stdout.ToArray());
    }

    [Fact]
    public async Task Push_through_a_server_uses_the_clients_registry_login_for_that_build_only()
    {
        const string password = "server-never-keeps-this";
        await using var registry = await RegistryFixture.StartAsync("farmer", password);
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync();
        var name = $"{registry.Host}/team/app:1";

        var without = await Client("anonymous").BuildAsync("--server", server.Address, "-t", name, "--push", context);
        Assert.Equal(1, without.ExitCode);
        Assert.Matches("(?i)401|unauthorized", without.Stderr);

        var client = Client("client");
        client.Environment["DOCKER_CONFIG"] = DockerConfig("farmer", password, registry.Host);
        var pushed = await client.BuildAsync("--server", server.Address, "-t", name, "--push", context);
        Assert.True(pushed.ExitCode == 0, pushed + server.Host.ToString());

        var inspected = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", "--creds", $"farmer:{password}", $"docker://{name}");
        Assert.Contains(pushed.Stderr.Split("writing image ")[1][..71], inspected);
        // Never kept: nothing under the server's home and nothing it printed holds the password.
        Assert.DoesNotContain(password, server.Host.ToString());
        var grep = await Run("grep", "-rl", password, server.Home);
        Assert.Equal(1, grep.ExitCode); // 1: no match anywhere
    }

    [Fact]
    public async Task Images_and_rmi_with_server_act_on_the_servers_store()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync();
        var client = Client("client");
        var built = await client.BuildAsync("--server", server.Address, "-t", "served:1", "-t", "served:2", context);
        Assert.True(built.ExitCode == 0, built.ToString());

        var listed = await client.RunAsync("images", "--server", server.Address);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("served ", listed.Stdout);
        Assert.DoesNotContain("served", (await client.RunAsync("images")).Stdout); // the client's own store is empty

        var untag = await client.RunAsync("rmi", "--server", server.Address, "served:1");
        Assert.True(untag.ExitCode == 0, untag.ToString());
        Assert.Equal("Untagged: served:1", untag.Stdout.Trim());
        var last = await client.RunAsync("rmi", "--server", server.Address, "served:2");
        Assert.True(last.ExitCode == 0, last.ToString());
        Assert.StartsWith("Untagged: served:2\nDeleted: sha256:", last.Stdout);
        Assert.DoesNotContain("served", (await client.RunAsync("images", "--server", server.Address)).Stdout);

        var missing = await client.RunAsync("rmi", "--server", server.Address, "nothing:here");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("Error response: No such image: nothing:here", missing.Stderr);
    }

    [Fact]
    public async Task Images_with_a_server_that_does_not_answer_names_the_address()
    {
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        var result = await Client("client").RunAsync("images", "--server", address);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"ERROR: {address}: no coordinator answers there", result.Stderr);
    }

    private BuildFarmCli Client(string name)
    {
        var cli = new BuildFarmCli(Path.Combine(_scratch.Root, name + "-home"));
        cli.Environment["SOURCE_DATE_EPOCH"] = "1700000000";
        // An empty docker config: no login of the machine's user leaks into the test.
        cli.Environment["DOCKER_CONFIG"] = Path.Combine(_scratch.Root, name + "-docker");
        return cli;
    }

    private string DockerConfig(string username, string password, string host)
    {
        var dir = Path.Combine(_scratch.Root, "docker-config");
        Directory.CreateDirectory(dir);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["auths"] = new System.Text.Json.Nodes.JsonObject { [host] = new System.Text.Json.Nodes.JsonObject { ["auth"] = auth } },
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        return dir;
    }

    private sealed record Server(HostProcess Host, string Address, string Home) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Host.DisposeAsync();
    }

    private async Task<Server> StartServerAsync()
    {
        var home = Path.Combine(_scratch.Root, "server-home");
        var cli = new BuildFarmCli(home);
        cli.Environment["DOCKER_CONFIG"] = Path.Combine(_scratch.Root, "server-docker");
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        var host = HostProcess.Start(cli, "buildfarm serving on", "serve", "--listen", address);
        await host.ReadyAsync(TimeSpan.FromMinutes(1));
        return new Server(host, address, home);
    }

    /// <summary>"path type mode uid gid size target" per entry, with each file's content digest after it, sorted.</summary>
    private static async Task<string> TreeAsync(string dir)
    {
        var entries = await Run("find", dir, "-mindepth", "1", "-printf", "%P %y %m %U %G %s %l %T@\\n");
        var sums = await Run("sh", "-c", $"cd '{dir}' && find . -type f -exec sha256sum {{}} + | sort");
        var lines = entries.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            // Directory sizes depend on the file system's block use, not on the tree.
            .Select(l => l.Split(' ') is var f && f[1] == "d" ? string.Join(' ', f[..5].Append(f[^1])) : l)
            .Order(StringComparer.Ordinal);
        return string.Join('\n', lines) + "\n" + sums.Stdout;
    }

    private static async Task<(int ExitCode, string Stdout)> Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout);
    }

}
