using System.Text.Json;
using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>cache du|prune --server</c>: the shared cache is measured and pruned by an admin token only, and a prune
/// never takes a blob from under a running build.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeCacheAdminTests(BusyboxFixture busybox) : IDisposable
{
    private const string Team = "cache-team-token-0123456789";
    private const string Admin = "cache-admin-token-0123456789";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private async Task<(HostProcess Server, string Address)> ServeAsync()
    {
        var tokens = Path.Combine(_scratch.Root, "tokens");
        File.WriteAllText(tokens, $"{Team} team-a\n{Admin} ops admin\n");
        var port = FreeTcpPort.Next();
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", "serve", "--listen", $"127.0.0.1:{port}", "--tokens", tokens);
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        return (server, $"127.0.0.1:{port}");
    }

    private BuildFarmCli Client(string token) =>
        new(Path.Combine(_scratch.Root, "client-" + Guid.NewGuid().ToString("N")[..6])) { Environment = { ["BUILDFARM_TOKEN"] = token } };

    [Fact]
    public async Task Cache_du_and_prune_through_a_server_are_refused_to_a_team_token_and_allowed_to_an_admin()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var built = await Client(Team).BuildAsync("--server", address, _scratch.Context("du", "FROM scratch\nADD rootfs.tar /\n"));
        Assert.True(built.ExitCode == 0, built.ToString());

        var du = await Client(Team).RunAsync("cache", "du", "--server", address);
        var prune = await Client(Team).RunAsync("cache", "prune", "--all", "--server", address);
        var adminDu = await Client(Admin).RunAsync("cache", "du", "--server", address);

        Assert.Equal(1, du.ExitCode);
        Assert.Contains("PermissionDenied", du.Stderr);
        Assert.Contains("needs an admin token", du.Stderr);
        Assert.Equal(1, prune.ExitCode);
        Assert.Contains("PermissionDenied", prune.Stderr);
        Assert.True(adminDu.ExitCode == 0, adminDu.ToString());
        Assert.Matches(@"blobs:\s+[1-9]", adminDu.Stdout);
        Assert.Matches(@"records:\s+[1-9]", adminDu.Stdout);
    }

    [Fact]
    public async Task Prune_all_through_a_server_keeps_the_blobs_of_a_running_build()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var client = Client(Team);
        // Something for the prune to remove: an earlier build's records and layers, no image name.
        var earlier = await client.BuildAsync("--server", address, _scratch.Context("earlier", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /e\n"));
        Assert.True(earlier.ExitCode == 0, earlier.ToString());
        var context = _scratch.Context("running", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /r && sleep 6\nRUN echo done > /done\n");
        var iid = Path.Combine(_scratch.Root, "running.iid");
        using var build = client.Start("build", "--progress", "plain", "--iidfile", iid, "--server", address, context);
        build.StandardInput.Close();
        var buildOut = build.StandardError.ReadToEndAsync();
        await WaitForRunningStepAsync(client, address);

        var prune = await Client(Admin).RunAsync("cache", "prune", "--all", "--grace", "0s", "--server", address);

        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Matches(@"removed [1-9]\d* records and [1-9]\d* blobs", prune.Stdout);
        Assert.Contains("kept what 1 running builds use", prune.Stdout);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2))) await build.WaitForExitAsync(timeout.Token);
        var output = await buildOut;
        Assert.True(build.ExitCode == 0, output);
        // No layer went missing under it: no re-run of steps at export, and every blob of its image is in the store.
        Assert.DoesNotContain("running the steps that need it again", output);
        var store = new LocalContentStore(Path.Combine(_scratch.Home, "cache"));
        var manifest = Digest.Parse(File.ReadAllText(iid).Trim());
        await using var stream = await store.OpenAsync(manifest);
        using var json = await JsonDocument.ParseAsync(stream);
        foreach (var layer in json.RootElement.GetProperty("layers").EnumerateArray())
            Assert.True(await store.ExistsAsync(Digest.Parse(layer.GetProperty("digest").GetString()!)), $"layer {layer} was pruned");
    }

    // The build runs its sleeping RUN step: its ADD layer is stored and recorded, the prune can reach it.
    private static async Task WaitForRunningStepAsync(BuildFarmCli client, string address)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            var listed = await client.RunAsync("builds", "--server", address, "--format", "json");
            if (listed.Stdout.Contains("\"running\"", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromSeconds(2.5));
                return;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the build did not start running within a minute");
    }
}
