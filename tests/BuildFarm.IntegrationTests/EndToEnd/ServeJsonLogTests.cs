using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>serve --log-format json</c>: the build lifecycle as one JSON object per line (Microsoft's console JSON
/// formatter), each entry of a build carrying its BuildId in a scope.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeJsonLogTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private sealed record LogEntry(string Message, string Level, string? BuildId);

    private sealed record BuildRow(string Id, string State);

    [Fact]
    public async Task Json_log_tells_each_build_accepted_its_cache_hits_and_misses_and_how_it_ended_under_its_build_id()
    {
        var port = FreeTcpPort.Next();
        var address = $"127.0.0.1:{port}";
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", "serve", "--listen", address, "--log-format", "json");
        await using var _ = server;
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client"));
        var context = _scratch.Context("ctx", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /id\n");
        Assert.Equal(0, (await client.BuildAsync("--server", address, context)).ExitCode);
        Assert.Equal(0, (await client.BuildAsync("--server", address, context)).ExitCode);
        Assert.Equal(1, (await client.BuildAsync("--server", address, _scratch.Context("bad", "FROM scratch\nADD rootfs.tar /\nRUN exit 3\n"))).ExitCode);
        var listed = await client.RunAsync("builds", "--server", address, "--format", "json");
        var builds = JsonSerializer.Deserialize<List<BuildRow>>(listed.Stdout, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        await server.SignalAsync("INT");
        Assert.Equal(0, await server.ExitAsync(TimeSpan.FromSeconds(60)));

        var entries = Entries(server.Stdout);
        var (failed, cached, cold) = (builds[0].Id, builds[1].Id, builds[2].Id); // newest first
        List<string> Of(string id) => [.. entries.Where(e => e.BuildId == id).Select(e => e.Message)];
        Assert.Contains(Of(cold), m => m.StartsWith("build accepted for team (none)", StringComparison.Ordinal));
        Assert.Contains(Of(cold), m => m.StartsWith("step cache miss: ", StringComparison.Ordinal) && m.Contains("RUN echo"));
        Assert.Contains(Of(cold), m => m.StartsWith("build finished: sha256:", StringComparison.Ordinal));
        Assert.Contains(Of(cold), m => m.StartsWith("[internal] publish build context ", StringComparison.Ordinal));
        Assert.Contains(Of(cached), m => m.StartsWith("step cache hit: ", StringComparison.Ordinal) && m.Contains("RUN echo"));
        Assert.DoesNotContain(Of(cached), m => m.StartsWith("step cache miss: ", StringComparison.Ordinal));
        Assert.Contains(Of(failed), m => m.StartsWith("build failed (user_error)", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.BuildId == failed && e.Level == "Warning");
    }

    /// <summary>Every stdout line but the ready line must be one JSON object; the build id comes from its scopes.</summary>
    private static List<LogEntry> Entries(string stdout)
    {
        var entries = new List<LogEntry>();
        foreach (var line in stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("buildfarm serving on", StringComparison.Ordinal)))
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            string? buildId = null;
            if (root.TryGetProperty("Scopes", out var scopes))
                foreach (var scope in scopes.EnumerateArray())
                    if (scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty("BuildId", out var id)) buildId = id.GetString();
            entries.Add(new LogEntry(root.GetProperty("Message").GetString()!, root.GetProperty("LogLevel").GetString()!, buildId));
        }
        return entries;
    }
}
