using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Issue #17: a build's --run-pids-limit travels with it to the server's worker, which never lets it go above its own.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeRunLimitsTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    // 100 processes at once: above a 64 pids limit, far below the default 4096
    private string ForkContext(string name) => _scratch.Context(name, """
        FROM scratch
        ADD rootfs.tar /
        RUN i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo forked=$i
        """);

    [Fact]
    public async Task Fork_bomb_through_serve_stops_at_the_build_pids_limit()
    {
        await WithServerAsync([], async (address, client) =>
        {
            var context = ForkContext("fork-build-limit");

            var limited = await client.BuildAsync("--server", address, "--run-pids-limit", "64", context);

            Assert.Equal(1, limited.ExitCode);
            Assert.DoesNotContain("forked=100", limited.Stderr);
            Assert.Contains("can't fork", limited.Stderr);
            // the same step (limits are no part of its key) under the server's own limits forks them all
            var unlimited = await client.BuildAsync("--server", address, context);
            Assert.True(unlimited.ExitCode == 0, unlimited.ToString());
            Assert.Contains("forked=100", unlimited.Stderr);
        });
    }

    [Fact]
    public async Task Build_cannot_raise_the_server_pids_limit()
    {
        await WithServerAsync(["--run-pids-limit", "64"], async (address, client) =>
        {
            var result = await client.BuildAsync("--server", address, "--run-pids-limit", "100000",
                ForkContext("fork-server-limit"));

            Assert.Equal(1, result.ExitCode);
            Assert.DoesNotContain("forked=100", result.Stderr);
            Assert.Contains("can't fork", result.Stderr);
        });
    }

    private async Task WithServerAsync(string[] serveArgs, Func<string, BuildFarmCli, Task> body)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        using var server = _scratch.Cli.Start(["serve", "--listen", $"127.0.0.1:{port}", .. serveArgs]);
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            await body($"127.0.0.1:{port}", new BuildFarmCli(Path.Combine(_scratch.Root, "client-home")));
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
            await stderr;
        }
    }
}
