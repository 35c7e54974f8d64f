using System.Diagnostics;
using BuildFarm.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Issue 17, item 5: the S3 gateway dies while a build runs. The build ends with an error naming the
/// endpoint within the configured store timeout of the moment the store went away (it used to take ~68 s).</summary>
[Collection(S3ServerCollection.Name)]
public sealed class StoreKilledMidBuildTests : IDisposable
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(8);

    // Process exit and scheduling. Before the fix this build took 14.5 s: the store call in flight spent a budget of its
    // own after another had found the store down, and the step was then run again on the same dead store.
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(4);

    private readonly S3ServerFixture _server;
    private readonly ITestOutputHelper _output;
    private readonly BusyboxRootfs _busybox = new();
    private readonly ExampleContext _scratch;

    public StoreKilledMidBuildTests(S3ServerFixture server, ITestOutputHelper output)
    {
        _server = server;
        _output = output;
        _scratch = new ExampleContext(_busybox);
    }

    public void Dispose()
    {
        _scratch.Dispose();
        _busybox.Dispose();
    }

    [Fact]
    public async Task Gateway_killed_mid_build_fails_naming_the_endpoint_within_the_store_timeout()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN sleep 4 && echo ran > /ran\nRUN echo more > /more\n");
        _scratch.Cli.Environment["BUILDFARM_CACHE"] =
            $"s3://buildfarm-test?endpoint={Uri.EscapeDataString(_server.Endpoint)}&namespace=t{Guid.NewGuid():N}&timeout={StoreTimeout.TotalSeconds}";
        _scratch.Cli.Environment["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey;
        _scratch.Cli.Environment["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey;

        using var build = _scratch.Cli.Start("build", "--progress", "plain", "-o", $"type=oci,dest={Path.Combine(_scratch.Root, "out.tar")}", context);
        build.StandardInput.Close();
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            while (await build.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderr) stderr.AppendLine(line);
                if (line.Contains("RUN sleep 4", StringComparison.Ordinal)) running.TrySetResult();
            }
        });
        Stopwatch clock;
        try
        {
            await running.Task.WaitAsync(TimeSpan.FromMinutes(2));
            await _server.StopGatewayAsync();
            clock = Stopwatch.StartNew();
            await build.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            clock.Stop();
        }
        finally
        {
            if (!build.HasExited) build.Kill(entireProcessTree: true);
            await _server.StartGatewayAsync();
        }
        await reader;
        var text = stderr.ToString();
        _output.WriteLine($"exit {build.ExitCode} {clock.Elapsed.TotalSeconds:0.0} s after the gateway stopped\n{text}\n--- stdout\n{await stdout}");

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains(_server.Endpoint, text);
        Assert.Contains("unavailable", text);
        Assert.True(clock.Elapsed < StoreTimeout + Margin, $"took {clock.Elapsed} after the gateway stopped");
    }
}
