using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm serve` and `buildfarm build --server`: the gRPC path with a content-addressed context.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();


    [Fact]
    public async Task A_build_sent_to_a_server_runs_there_and_a_second_one_is_all_cached()
    {
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        var ready = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Contains("serving on", ready);
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            var context = _scratch.CopyExample();
            var first = await client.BuildAsync("--server", $"127.0.0.1:{port}", "-t", "served", context);
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.Equal(8, new PlainProgress(first.Stderr).Executed.Count); // the example: 6 steps with a layer and 2 WORKDIR steps

            var second = await client.BuildAsync("--server", $"127.0.0.1:{port}", "-t", "served", context);
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.Equal(8, new PlainProgress(second.Stderr).Cached.Count);

            // The image lives in the server's store, under the server's BUILDFARM_HOME.
            Assert.Contains("Hello from a BuildFarm image!", (await _scratch.Cli.RunAsync("run", "served")).Stdout);
            var failing = _scratch.Context("failing", "FROM scratch\nADD rootfs.tar /\nRUN echo remote-boom && exit 5\n");
            var failed = await client.BuildAsync("--server", $"127.0.0.1:{port}", failing);
            Assert.Equal(1, failed.ExitCode);
            Assert.Contains("Dockerfile:3", failed.Stderr);
            Assert.Contains("remote-boom", failed.Stderr);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
        }
        Assert.True(server.ExitCode == 0, await stderr);
    }

    [Fact]
    public async Task Serve_refuses_a_cache_size_that_is_not_a_positive_number_naming_the_option()
    {
        var result = await _scratch.Cli.RunAsync("serve", "--listen", $"127.0.0.1:{FreeTcpPort.Next()}", "--context-cache-mb", "0");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--context-cache-mb 0: expected a positive number of MiB", result.Stderr);
    }

    [Fact]
    public async Task The_same_content_from_another_folder_with_no_cache_builds_with_its_own_context()
    {
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            const string dockerfile = "FROM scratch\nADD rootfs.tar /\nCOPY note.txt /note.txt\nRUN cat /note.txt\n";
            var first = await client.BuildAsync("--server", $"127.0.0.1:{port}", _scratch.Context("one", dockerfile, ("note.txt", "same")));
            Assert.True(first.ExitCode == 0, first.ToString());

            // The first upload's folder on the server is gone; the re-run must read the second build's own.
            var second = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--no-cache",
                _scratch.Context("two", dockerfile, ("note.txt", "same")));
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.Equal(3, new PlainProgress(second.Stderr).Executed.Count);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
        }
        Assert.True(server.ExitCode == 0, await stderr);
    }
}
