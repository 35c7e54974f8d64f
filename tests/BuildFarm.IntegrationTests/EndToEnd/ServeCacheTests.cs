using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>--cache-to/--cache-from type=registry through <c>buildfarm serve</c>: the farm imports and exports, with the
/// client's registry logins; an import only on a server that allows it (its store is every team's).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeCacheTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = "FROM scratch\nADD rootfs.tar /\nRUN echo served > /note\n";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private sealed record Server(HostProcess Host, string Address) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Host.DisposeAsync();
    }

    private async Task<Server> StartServerAsync(string name, params string[] flags)
    {
        var cli = new BuildFarmCli(Path.Combine(_scratch.Root, name));
        cli.Environment["DOCKER_CONFIG"] = Path.Combine(_scratch.Root, name + "-docker");
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        var host = HostProcess.Start(cli, "buildfarm serving on", ["serve", "--listen", address, .. flags]);
        await host.ReadyAsync(TimeSpan.FromMinutes(1));
        return new Server(host, address);
    }

    private BuildFarmCli Client()
    {
        var cli = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
        cli.Environment["DOCKER_CONFIG"] = Path.Combine(_scratch.Root, "client-docker");
        return cli;
    }

    [Fact]
    public async Task Registry_cache_exported_by_one_server_warms_a_fresh_server_that_allows_imports()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var context = _scratch.Context("ctx", Dockerfile);
        var cacheRef = $"{registry.Host}/farm/served:cache";
        await using (var first = await StartServerAsync("first"))
        {
            var exported = await Client().BuildAsync("--server", first.Address, "--cache-to", $"type=registry,ref={cacheRef},mode=max", context);
            Assert.True(exported.ExitCode == 0, exported.ToString());
            Assert.Contains("2 steps executed, 0 cached", exported.Stderr);
        }
        await using var fresh = await StartServerAsync("fresh", "--allow-cache-import");
        var warmed = await Client().BuildAsync("--server", fresh.Address, "--cache-from", $"type=registry,ref={cacheRef}", context);
        Assert.True(warmed.ExitCode == 0, warmed.ToString());
        Assert.Contains("2 records imported", warmed.Stderr);
        Assert.Contains("0 steps executed, 2 cached", warmed.Stderr);
    }

    [Fact]
    public async Task Cache_from_is_refused_by_a_server_that_does_not_allow_imports()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        await using var server = await StartServerAsync("server");
        var result = await Client().BuildAsync("--server", server.Address, "--cache-from", "type=registry,ref=127.0.0.1:1/x:cache", context);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--cache-from is not allowed by this server", result.Stderr);
        Assert.Contains("--allow-cache-import", result.Stderr);
    }
}
