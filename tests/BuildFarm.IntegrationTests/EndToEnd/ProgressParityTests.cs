using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>--progress plain</c> and <c>rawjson</c> print the same through <c>--server</c> as an embedded build.</summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ProgressParityTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = "FROM scratch\nADD rootfs.tar /\nRUN echo one && echo two\nRUN printf 'no newline at the end'\n";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Plain_and_rawjson_progress_through_a_server_are_the_embedded_ones_modulo_times()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        var embedded = new BuildFarmCli(Path.Combine(_scratch.Root, "embedded-home"));
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
        var serverCli = new BuildFarmCli(Path.Combine(_scratch.Root, "server-home"));
        foreach (var cli in new[] { embedded, client, serverCli }) cli.Environment["SOURCE_DATE_EPOCH"] = "1700000000";

        var port = FreeTcpPort.Next();
        using var server = serverCli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var serverErrors = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            // Cold: steps run, with their logs (one without a final newline).
            var local = await embedded.RunAsync("build", "--progress", "plain", context);
            var remote = await client.RunAsync("build", "--progress", "plain", "--server", $"127.0.0.1:{port}", context);
            Assert.True(local.ExitCode == 0, local.ToString());
            Assert.True(remote.ExitCode == 0, remote.ToString());
            Assert.Contains("#3 0.", local.Stderr); // the log lines are there to compare
            Assert.Equal(WithoutTimes(local.Stderr), WithoutTimes(remote.Stderr));

            // Warm: every step cached, as JSON events.
            var localJson = await embedded.RunAsync("build", "--progress", "rawjson", context);
            var remoteJson = await client.RunAsync("build", "--progress", "rawjson", "--server", $"127.0.0.1:{port}", context);
            Assert.True(remoteJson.ExitCode == 0, remoteJson.ToString());
            Assert.Equal(Events(localJson.Stderr), Events(remoteJson.Stderr));
            Assert.Contains(Events(localJson.Stderr), e => e.StartsWith("CACHED|", StringComparison.Ordinal));
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
        }
        Assert.True(server.ExitCode == 0, await serverErrors);
    }

    /// <summary>The lines without their times: nothing else may differ (a served build's context publication is logged on
    /// the server, not shown).</summary>
    private static List<string> WithoutTimes(string output) =>
        [.. output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).Select(l => Time().Replace(l, "T"))];

    /// <summary>Each rawjson line must be one JSON event; kept: what it says, not when.</summary>
    private static List<string> Events(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            string Field(string name) => json.RootElement.TryGetProperty(name, out var v) ? v.ToString() : "";
            return $"{Field("kind")}|{Field("stepId")}|{Field("name")}|{Field("log")}|{Field("error")}|{Field("cacheMiss")}";
        })];

    [GeneratedRegex(@"\d+\.\d+s?")]
    private static partial Regex Time();
}
