using System.Diagnostics;
using System.Net;
using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// A resident engine as the native client finds it: a real <c>buildfarm serve</c> on a loopback port, its
/// <c>$BUILDFARM_HOME/engine.sock</c> relayed to that port, and <c>engine.json</c> naming both with the given version.
/// Disposing stops serve (SIGINT) and checks that it left cleanly.
/// </summary>
public sealed class RelayedEngine : IAsyncDisposable
{
    private readonly Process _server;
    private readonly Task<string> _serverErr;

    private RelayedEngine(Process server, Task<string> serverErr, int port, UnixSocketRelay relay)
    {
        _server = server;
        _serverErr = serverErr;
        Port = port;
        Relay = relay;
    }

    public int Port { get; }
    public UnixSocketRelay Relay { get; }

    public static async Task<RelayedEngine> StartAsync(BuildFarmCli cli, string version, params string[] serveArguments)
    {
        var port = FreeTcpPort.Next();
        var server = cli.Start(["serve", "--listen", $"127.0.0.1:{port}", .. serveArguments]);
        server.StandardInput.Close();
        var serverErr = server.StandardError.ReadToEndAsync();
        var ready = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        if (ready is null || !ready.Contains("serving on"))
        {
            server.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"serve did not start: {ready}\n{await serverErr}");
        }
        var relay = new UnixSocketRelay(Path.Combine(cli.Home, "engine.sock"), new IPEndPoint(IPAddress.Loopback, port));
        WriteRecord(cli.Home, server.Id, version, relay.Path);
        return new RelayedEngine(server, serverErr, port, relay);
    }

    public static void WriteRecord(string home, int pid, string version, string socket)
    {
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "engine.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["pid"] = pid, ["version"] = version, ["socket"] = socket, ["started"] = DateTimeOffset.UtcNow,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await Relay.DisposeAsync();
        await BuildFarmCli.ToolAsync("kill", "-INT", _server.Id.ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _server.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _server.Kill(entireProcessTree: true);
            throw new TimeoutException("serve did not stop within 60 s of SIGINT");
        }
        var exit = _server.ExitCode;
        var err = await _serverErr;
        _server.Dispose();
        if (exit != 0) throw new InvalidOperationException($"serve exited {exit}:\n{err}");
    }
}
