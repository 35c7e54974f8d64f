using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>RUN --mount=type=ssh (issue #15): the build's agent reaches the step through a socket of its own; the key
/// stays in the agent. The test base gets the host's ssh-add (openssh-client) and its libraries, as busybox has none.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SshMountTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Run_mount_ssh_lists_the_forwarded_key_and_no_layer_holds_it()
    {
        var key = Path.Combine(_scratch.Root, "id_test");
        await BuildFarmCli.ToolAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "buildfarm-test-key", "-f", key);
        var context = _scratch.Context("ssh-keys", """
            FROM scratch
            ADD rootfs.tar /
            ADD sshadd.tar /
            RUN --mount=type=ssh ssh-add -l > /keys && test "$SSH_AUTH_SOCK" = /run/buildkit/ssh_agent.0
            CMD ["cat", "/keys"]
            """);
        await SshAddTarAsync(Path.Combine(context, "sshadd.tar"));
        var oci = Path.Combine(_scratch.Root, "ssh-keys.tar");

        var build = await _scratch.Cli.BuildAsync("--ssh", $"default={key}", "-t", "ssh-keys", "--output", $"type=oci,dest={oci}", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        var listed = (await _scratch.Cli.RunAsync("run", "ssh-keys")).Stdout;
        Assert.Contains("buildfarm-test-key (ED25519)", listed);
        var privateKey = (await File.ReadAllLinesAsync(key)).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToArray();
        foreach (var (name, content) in await LayerContentsAsync(oci))
        {
            var text = Encoding.ASCII.GetString(content);
            // (the marker "OPENSSH PRIVATE KEY" itself is in ssh-add's binary: the key's body is what must not be anywhere)
            foreach (var line in privateKey)
                Assert.False(text.Contains(line, StringComparison.Ordinal), $"{name} holds a line of the private key");
        }
    }

    [Fact]
    public async Task Run_mount_ssh_through_server_reaches_the_clients_agent_over_the_build_stream()
    {
        // the client's own agent (as a developer's $SSH_AUTH_SOCK), which the server's host cannot see
        var key = Path.Combine(_scratch.Root, "id_served");
        await BuildFarmCli.ToolAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "served-client-key", "-f", key);
        var agentDir = Directory.CreateTempSubdirectory("bf-ssh-client-").FullName;
        var agentSocket = Path.Combine(agentDir, "agent.sock");
        using var agent = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ssh-agent", ["-D", "-a", agentSocket])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var port = Infrastructure.FreeTcpPort.Next();
        using var server = _scratch.Cli.Start(["serve", "--listen", $"127.0.0.1:{port}"]);
        server.StandardInput.Close();
        var serverErr = server.StandardError.ReadToEndAsync();
        try
        {
            for (var i = 0; i < 200 && !File.Exists(agentSocket); i++) await Task.Delay(25);
            var add = new System.Diagnostics.ProcessStartInfo("ssh-add", [key]) { RedirectStandardError = true };
            add.Environment["SSH_AUTH_SOCK"] = agentSocket;
            using (var adding = System.Diagnostics.Process.Start(add)!) await adding.WaitForExitAsync();
            Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
            var context = _scratch.Context("ssh-served", """
                FROM scratch
                ADD rootfs.tar /
                ADD sshadd.tar /
                RUN --mount=type=ssh,required=true ssh-add -l
                """);
            await SshAddTarAsync(Path.Combine(context, "sshadd.tar"));
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            client.Environment["SSH_AUTH_SOCK"] = agentSocket;

            var build = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--ssh", "default", "--no-cache", context);

            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.Contains("served-client-key (ED25519)", build.Stderr);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
            await serverErr;
            agent.Kill();
            await agent.WaitForExitAsync();
            Directory.Delete(agentDir, recursive: true);
        }
    }

    [Fact]
    public async Task Run_mount_ssh_and_git_over_ssh_on_a_worker_of_another_host_reach_the_agent_through_the_coordinator()
    {
        // coordinator and worker as separate processes; the worker names itself another host, so the agent's socket on
        // the coordinator's host is not a path it may open: every agent connection crosses the cluster
        using var sshd = new Infrastructure.LocalSshGitServer();
        sshd.Commit("app", ("a.txt", "fetched-over-ssh\n"));
        sshd.Tag("app", "v1");
        var (api, remoting) = (Infrastructure.FreeTcpPort.Next(), Infrastructure.FreeTcpPort.Next());
        await using var coordinator = HostProcess.Start(TestFarmNode.Create(_scratch.Root, "coordinator"), "buildfarm coordinator ready:",
            "coordinator", "--listen", $"127.0.0.1:{api}", "--remoting-port", remoting.ToString());
        await coordinator.ReadyAsync(TimeSpan.FromMinutes(1));
        var workerNode = TestFarmNode.Create(_scratch.Root, "worker");
        workerNode.Environment[Protos.HostIdentity.Variable] = "another-host/" + Guid.NewGuid().ToString("N");
        await using var worker = HostProcess.Start(workerNode, "buildfarm worker ready:", "worker", "--seeds", $"127.0.0.1:{remoting}");
        await worker.ReadyAsync(TimeSpan.FromMinutes(1));
        var context = _scratch.Context("ssh-remote", $"""
            FROM scratch
            ADD rootfs.tar /
            ADD sshadd.tar /
            ADD {sshd.Url("app")}#v1 /src
            RUN --mount=type=ssh,required=true ssh-add -l && cat /src/a.txt
            """);
        await SshAddTarAsync(Path.Combine(context, "sshadd.tar"));

        var build = await new BuildFarmCli(Path.Combine(_scratch.Root, "client"))
            .BuildAsync("--server", $"127.0.0.1:{api}", "--ssh", $"default={sshd.ClientKey}", context);

        Assert.True(build.ExitCode == 0, $"{build}\n--- coordinator\n{coordinator}\n--- worker\n{worker}\n--- sshd\n{sshd.Log}");
        Assert.Contains("git-over-ssh-client (ED25519)", build.Stderr);
        Assert.Contains("fetched-over-ssh", build.Stderr);
    }

    [Fact]
    public async Task Run_mount_ssh_required_without_ssh_flag_fails_naming_the_id()
    {
        var context = _scratch.Context("ssh-missing", """
            FROM scratch
            ADD rootfs.tar /
            RUN --mount=type=ssh,id=deploy,required=true true
            """);

        var build = await _scratch.Cli.BuildAsync(context);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("no SSH key \"deploy\" forwarded", build.Stderr);
    }

    /// <summary>ssh-add and the shared libraries ldd names, as a tar to ADD onto busybox.</summary>
    private static async Task SshAddTarAsync(string tar)
    {
        var ldd = await BuildFarmCli.ToolAsync("ldd", "/usr/bin/ssh-add");
        var files = new List<string> { "/usr/bin/ssh-add" };
        foreach (var line in ldd.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var path = line.Split(' ').FirstOrDefault(p => p.StartsWith('/'));
            if (path is not null) files.Add(path);
        }
        await BuildFarmCli.ToolAsync("tar", ["-chf", tar, "-C", "/", .. files.Select(f => f.TrimStart('/'))]);
    }

    /// <summary>Every blob of an OCI layout tar, gunzipped when it is gzip.</summary>
    private static async Task<List<(string Name, byte[] Content)>> LayerContentsAsync(string ociTar)
    {
        var result = new List<(string, byte[])>();
        await using var file = File.OpenRead(ociTar);
        await using var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            if (entry.DataStream is null || !entry.Name.Contains("blobs/")) continue;
            using var raw = new MemoryStream();
            await entry.DataStream.CopyToAsync(raw);
            var bytes = raw.ToArray();
            if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
            {
                using var unzipped = new MemoryStream();
                await using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
                    await gzip.CopyToAsync(unzipped);
                bytes = unzipped.ToArray();
            }
            result.Add((entry.Name, bytes));
        }
        return result;
    }
}
