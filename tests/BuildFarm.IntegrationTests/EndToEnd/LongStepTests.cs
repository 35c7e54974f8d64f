using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Steps longer than the old two-minute entity passivation (issue #10): they finish, embedded and served.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LongStepTests(BusyboxFixture busybox) : IDisposable
{
    private const string SleepyDockerfile = "FROM scratch\nADD rootfs.tar /\nRUN sleep 150 && echo slept > /s\n";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    [Trait("Category", "Long")]
    public async Task A_step_of_150_seconds_completes_embedded()
    {
        var context = _scratch.Context("sleepy", SleepyDockerfile);

        var build = await _scratch.Cli.BuildAsync("-t", "sleepy:1", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("slept", (await _scratch.Cli.RunAsync("run", "sleepy:1", "cat", "/s")).Stdout);
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task A_step_of_150_seconds_completes_through_serve()
    {
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        var stdout = server.StandardOutput.ReadToEndAsync(); // drained, so a chatty server never blocks on a full pipe
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            var build = await client.BuildAsync("--server", $"127.0.0.1:{port}", "-t", "sleepy:2",
                _scratch.Context("sleepy-served", SleepyDockerfile));
            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.Contains("slept", (await _scratch.Cli.RunAsync("run", "sleepy:2", "cat", "/s")).Stdout);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await server.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                server.Kill(entireProcessTree: true);
                Assert.Fail($"the server did not stop within 60 s of SIGINT\n--- stdout\n{await stdout}\n--- stderr\n{await stderr}");
            }
        }
        Assert.True(server.ExitCode == 0, await stderr);
    }

}
