using System.Text;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Cli.Engine;

/// <summary>The resident engine's socket file: claimed before the engine binds it, released (with engine.json) when it ends.</summary>
public static class ResidentSocket
{
    /// <summary>sun_path holds 108 bytes with its terminating zero.</summary>
    private const int MaxPathBytes = 107;

    /// <summary>Refuses a path a unix socket cannot have and a socket another engine serves; removes a dead one's.</summary>
    public static async Task ClaimAsync(string socket, CancellationToken cancellationToken)
    {
        if (Encoding.UTF8.GetByteCount(socket) > MaxPathBytes)
            throw new SettingsException($"--socket {socket}: a unix socket path holds at most {MaxPathBytes} bytes (set a shorter BUILDFARM_HOME)");
        if (!File.Exists(socket)) return;
        if (await EngineProbe.ServesAsync(socket, TimeSpan.FromSeconds(5), cancellationToken))
            throw new SettingsException($"--socket {socket}: another engine already serves there (buildfarm serve --stop)");
        File.Delete(socket);
    }

    public static void Release(string socket, string record)
    {
        // A newer engine's record means the socket is its own too.
        if (EngineRecord.Read(record) is { } current && current.Pid != Environment.ProcessId) return;
        File.Delete(record);
        // Kestrel removes its socket file on a clean stop; after a failed start it may be left.
        try
        {
            if (File.Exists(socket)) File.Delete(socket);
        }
        catch (IOException)
        {
            // the next engine removes a dead socket
        }
    }
}
