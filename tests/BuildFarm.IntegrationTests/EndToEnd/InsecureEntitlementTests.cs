using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class InsecureEntitlementTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string InsecureContext() => _scratch.Context("insecure", """
        FROM scratch
        ADD rootfs.tar /
        RUN echo step-ran-$((1+1))
        RUN --security=insecure mkdir -p /m && mount -t tmpfs none /m && echo mounted && umount /m
        """);

    [Fact]
    public async Task Insecure_run_without_the_entitlement_is_refused_naming_it_and_the_line()
    {
        var result = await _scratch.Cli.BuildAsync(InsecureContext());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("security.insecure is not allowed", result.Stderr);
        Assert.Contains("Dockerfile:4", result.Stderr);
        Assert.DoesNotContain("step-ran-2", result.Stderr); // refused before any step ran
    }

    [Fact]
    public async Task Insecure_run_with_allow_security_insecure_runs_privileged()
    {
        var result = await _scratch.Cli.BuildAsync("--allow", "security.insecure", InsecureContext());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("mounted", result.Stderr);
    }

    [Fact]
    public async Task Unknown_entitlement_is_a_usage_error()
    {
        var result = await _scratch.Cli.BuildAsync("--allow", "network.everything", InsecureContext());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--allow network.everything: unknown entitlement", result.Stderr);
    }

    [Fact]
    public async Task Server_started_without_the_entitlement_refuses_an_insecure_build_that_asks_for_it()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));

            var result = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--allow", "security.insecure", InsecureContext());

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("security.insecure is not allowed by this server", result.Stderr);
            Assert.Contains("Dockerfile:4", result.Stderr);
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
