using BuildFarm.IntegrationTests.Infrastructure;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A farm with a tokens file and TLS: who may build, and each team seeing, watching and canceling only its own builds.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeIdentityTests(BusyboxFixture busybox, ITestOutputHelper output) : IDisposable
{
    private const string TeamA = "team-a-token-0123456789";
    private const string TeamB = "team-b-token-0123456789";
    private const string Admin = "ops-admin-token-0123456789";
    private static readonly TimeSpan Ready = TimeSpan.FromMinutes(1);
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private sealed record BuildRow(string Id, string Team, string State, string? ManifestDigest, string? Error);


    private string TokensFile()
    {
        var path = Path.Combine(_scratch.Root, "tokens");
        File.WriteAllText(path, $"# token team [admin]\n{TeamA} team-a\n{TeamB} team-b\n{Admin} ops admin\n");
        return path;
    }

    private async Task<(HostProcess Server, int Port)> ServeAsync(params string[] args)
    {
        var port = FreeTcpPort.Next();
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", ["serve", "--listen", $"127.0.0.1:{port}", .. args]);
        await server.ReadyAsync(Ready);
        return (server, port);
    }

    private BuildFarmCli Client(string? token)
    {
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-" + Guid.NewGuid().ToString("N")[..6]));
        if (token is not null) client.Environment["BUILDFARM_TOKEN"] = token;
        return client;
    }

    private static async Task<IReadOnlyList<BuildRow>> BuildsAsync(BuildFarmCli client, string server)
    {
        var result = await client.RunAsync("builds", "--server", server, "--format", "json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonSerializer.Deserialize<List<BuildRow>>(result.Stdout, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
    }

    private static async Task<BuildRow> RunningAsync(BuildFarmCli client, string server)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            if ((await BuildsAsync(client, server)).FirstOrDefault(b => b.State == "running") is { } running) return running;
            await Task.Delay(200);
        }
        throw new TimeoutException("no build of this team started running within a minute");
    }

    private static async Task<int> ExitAsync(Process process, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return process.ExitCode;
    }

    [Fact]
    public async Task A_build_without_a_token_or_with_an_unknown_one_is_refused_before_any_context_byte_reaches_the_server()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        await using var proxy = new CountingProxy(new IPEndPoint(IPAddress.Loopback, port));
        const string marker = "context-marker-5f1c2e";
        var context = _scratch.Context("auth", $"# {marker}\nFROM scratch\nADD rootfs.tar /\nCOPY note.txt /note.txt\n", ("note.txt", marker));

        foreach (var token in new string?[] { null, "not-a-known-token-at-all" })
        {
            proxy.Reset();
            var refused = await Client(token).BuildAsync("--server", proxy.Address, context);

            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains("Unauthenticated", refused.Stderr);
            Assert.False(proxy.SentToServer(marker), $"the Dockerfile or the context reached the server ({proxy.BytesToServer} bytes)");
            Assert.True(proxy.BytesToServer < 2048, $"{proxy.BytesToServer} bytes reached the server: more than a connection preface and headers");
            output.WriteLine($"token {(token is null ? "none" : "unknown")}: {proxy.BytesToServer} bytes reached the server");
        }

        proxy.Reset();
        var accepted = await Client(TeamA).BuildAsync("--server", proxy.Address, context);
        Assert.True(accepted.ExitCode == 0, accepted.ToString());
        output.WriteLine($"token known: {proxy.BytesToServer} bytes reached the server");
        // The same relay does carry the context once the token is known: the counts above are real.
        Assert.True(proxy.SentToServer(marker));
        Assert.True(proxy.BytesToServer > new FileInfo(Path.Combine(context, "rootfs.tar")).Length);
    }

    [Fact]
    public async Task Team_a_cannot_list_watch_or_cancel_a_build_of_team_b()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        var address = $"127.0.0.1:{port}";
        var teamA = Client(TeamA);
        var teamB = Client(TeamB);
        var context = _scratch.Context("long", "FROM scratch\nADD rootfs.tar /\nRUN sleep 60\n");
        using var build = teamB.Start("build", "--progress", "plain", "--server", address, context);
        build.StandardInput.Close();
        var buildErr = build.StandardError.ReadToEndAsync();
        var running = await RunningAsync(teamB, address);
        Assert.Equal("team-b", running.Team);

        Assert.Empty(await BuildsAsync(teamA, address));
        var watch = await teamA.RunAsync("watch", running.Id, "--server", address);
        Assert.Equal(1, watch.ExitCode);
        Assert.Contains("NotFound", watch.Stderr);
        var cancel = await teamA.RunAsync("cancel", running.Id, "--server", address);
        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("NotFound", cancel.Stderr);
        Assert.Equal("running", (await BuildsAsync(teamB, address)).Single().State);
        Assert.Contains(await BuildsAsync(Client(Admin), address), b => b.Id == running.Id);

        var own = await teamB.RunAsync("cancel", running.Id, "--server", address);
        Assert.True(own.ExitCode == 0, own.ToString());
        Assert.Equal(130, await ExitAsync(build, TimeSpan.FromSeconds(30)));
        Assert.Contains("canceled", await buildErr);
        Assert.Equal("canceled", (await BuildsAsync(teamB, address)).Single().State);
    }

    [Fact]
    public async Task Watch_started_after_the_build_began_replays_its_events_and_follows_it_to_the_end()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        var address = $"127.0.0.1:{port}";
        var client = Client(TeamA);
        var context = _scratch.Context("late", "FROM scratch\nADD rootfs.tar /\nRUN echo early-line && sleep 4 && echo late-line\n");
        var iid = Path.Combine(_scratch.Root, "iid");
        using var build = client.Start("build", "--progress", "plain", "--iidfile", iid, "--server", address, context);
        build.StandardInput.Close();
        _ = build.StandardError.ReadToEndAsync();
        var running = await RunningAsync(client, address);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // into the RUN step: "early-line" is already past

        var watch = await client.RunAsync("watch", running.Id, "--server", address, "--progress", "plain");

        Assert.True(watch.ExitCode == 0, watch.ToString());
        Assert.Equal(0, await ExitAsync(build, TimeSpan.FromSeconds(30)));
        Assert.Contains("early-line", watch.Stderr);
        Assert.Contains("late-line", watch.Stderr);
        Assert.Equal(File.ReadAllText(iid).Trim(), watch.Stdout.Trim());
    }

    [Fact]
    public async Task A_client_that_disconnects_re_attaches_and_sees_the_same_result()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        var address = $"127.0.0.1:{port}";
        var client = Client(TeamA);
        var context = _scratch.Context("dropped", "FROM scratch\nADD rootfs.tar /\nRUN sleep 3 && echo after-the-drop > /f\n");
        using (var build = client.Start("build", "--progress", "plain", "--server", address, context))
        {
            build.StandardInput.Close();
            var running = await RunningAsync(client, address);
            build.Kill(); // SIGKILL: the call drops without a Cancel

            var first = await client.RunAsync("watch", running.Id, "--server", address);
            var again = await client.RunAsync("watch", running.Id, "--server", address);

            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.StartsWith("sha256:", first.Stdout.Trim());
            Assert.Equal(first.Stdout, again.Stdout);
            var listed = (await BuildsAsync(client, address)).Single(b => b.Id == running.Id);
            Assert.Equal(("succeeded", first.Stdout.Trim()), (listed.State, listed.ManifestDigest));
        }
    }

    [Fact]
    public async Task A_build_whose_connection_drops_re_attaches_by_itself_and_prints_each_event_once()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        await using var proxy = new CountingProxy(new IPEndPoint(IPAddress.Loopback, port));
        var client = Client(TeamA);
        var context = _scratch.Context("drop", "FROM scratch\nADD rootfs.tar /\nRUN echo before-drop && sleep 4 && echo after-drop\n");
        using var build = client.Start("build", "--progress", "plain", "--server", proxy.Address, context);
        build.StandardInput.Close();
        var stderr = build.StandardError.ReadToEndAsync();
        var running = await RunningAsync(client, $"127.0.0.1:{port}");
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        proxy.DropConnections();

        Assert.Equal(0, await ExitAsync(build, TimeSpan.FromSeconds(60)));
        var output = await stderr;
        Assert.Contains($"re-attaching to build {running.Id}", output);
        Assert.Equal(1, output.Split('\n').Count(l => l.Contains("before-drop", StringComparison.Ordinal) && !l.Contains("RUN", StringComparison.Ordinal)));
        Assert.Contains("after-drop", output);
        Assert.Equal("succeeded", (await BuildsAsync(client, $"127.0.0.1:{port}")).Single().State);
    }

    [Fact]
    public async Task Tls_with_the_farm_ca_works_and_a_wrong_ca_fails_with_a_line_naming_it()
    {
        var tls = TlsFiles.Write(Path.Combine(_scratch.Root, "tls"), "farm");
        var stranger = TlsFiles.Write(Path.Combine(_scratch.Root, "other"), "stranger");
        var (server, port) = await ServeAsync("--tls-cert", tls.CertPem, "--tls-key", tls.KeyPem, "--tokens", TokensFile());
        await using var host = server;
        Assert.Contains("auth tokens tls on", server.Stdout);
        var address = $"https://127.0.0.1:{port}";
        var context = _scratch.Context("tls", "FROM scratch\nADD rootfs.tar /\n");

        var trusted = await Client(TeamA).BuildAsync("--server", address, "--tlscacert", tls.CaPem, context);
        var wrong = await Client(TeamA).BuildAsync("--server", address, "--tlscacert", stranger.CaPem, context);
        var viaVariable = Client(TeamA);
        viaVariable.Environment["BUILDFARM_TLS_CA"] = tls.CaPem;
        var listed = await viaVariable.RunAsync("builds", "--server", address);

        Assert.True(trusted.ExitCode == 0, trusted.ToString());
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains($"{address}: TLS: the server's certificate (CN=farm coordinator) is not signed by a CA in --tlscacert {stranger.CaPem}", wrong.Stderr);
        Assert.True(listed.ExitCode == 0, listed.ToString());
    }

    [Fact]
    public async Task The_token_comes_from_the_flag_BUILDFARM_TOKEN_or_the_client_config_file()
    {
        var (server, port) = await ServeAsync("--tokens", TokensFile());
        await using var host = server;
        var address = $"127.0.0.1:{port}";
        var fromConfig = Client(null);
        Directory.CreateDirectory(fromConfig.Home);
        File.WriteAllText(Path.Combine(fromConfig.Home, "config.json"), $"{{\"token\": \"{TeamB}\"}}");

        var none = await Client(null).RunAsync("builds", "--server", address);
        var flag = await Client(null).RunAsync("builds", "--server", address, "--token", TeamA);
        var variable = await Client(TeamA).RunAsync("builds", "--server", address);
        var config = await fromConfig.RunAsync("builds", "--server", address);
        var flagOverConfig = await fromConfig.RunAsync("builds", "--server", address, "--token", "wrong-token-0123456789");

        Assert.Equal(1, none.ExitCode);
        Assert.Contains("Unauthenticated", none.Stderr);
        Assert.True(flag.ExitCode == 0, flag.ToString());
        Assert.True(variable.ExitCode == 0, variable.ToString());
        Assert.True(config.ExitCode == 0, config.ToString());
        Assert.Equal(1, flagOverConfig.ExitCode);
        Assert.Contains("unknown token", flagOverConfig.Stderr);
    }
}
