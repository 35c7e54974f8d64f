using System.Diagnostics;

namespace BuildFarm.Cli.Engine;

/// <summary>
/// Starts <c>buildfarm serve --socket … --idle-timeout …</c> detached from the client: a session of its own (setsid, so
/// the terminal's Ctrl-C and hang-up do not reach it), stdin from /dev/null and stdout/stderr appended to engine.log
/// (never the client's pipes: a caller reading the client's output to its end would wait for the engine).
/// </summary>
public static class EngineLauncher
{
    /// <summary>engine.log is moved to engine.log.1 at a start once it is this big.</summary>
    private const long LogLimit = 8 << 20;

    public static Process Start(BuildFarmHome home, string version, TimeSpan idleTimeout)
    {
        Directory.CreateDirectory(home.Root);
        var log = new FileInfo(home.EngineLog);
        if (log.Exists && log.Length > LogLimit) File.Move(log.FullName, log.FullName + ".1", overwrite: true);
        // The same program as this client: the apphost, or `dotnet buildfarm.dll`.
        var host = Environment.ProcessPath ?? throw new EngineStartException("cannot tell which program this client runs as");
        var program = Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? new[] { host, typeof(EngineLauncher).Assembly.Location }
            : [host];
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = "/" };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid \"$@\" </dev/null >>\"$BUILDFARM_ENGINE_LOG\" 2>&1");
        start.ArgumentList.Add("sh");
        foreach (var part in program) start.ArgumentList.Add(part);
        foreach (var part in new[] { "serve", "--socket", home.EngineSocket, "--idle-timeout", $"{(long)idleTimeout.TotalSeconds}s" })
            start.ArgumentList.Add(part);
        start.Environment["BUILDFARM_ENGINE_LOG"] = home.EngineLog;
        start.Environment["BUILDFARM_HOME"] = home.Root;
        start.Environment["BUILDFARM_VERSION_OVERRIDE"] = version == EngineVersion.Informational ? "" : version;
        File.AppendAllText(home.EngineLog, $"{DateTimeOffset.UtcNow:O} starting engine {version} for client {Environment.ProcessId}\n");
        return Process.Start(start) ?? throw new EngineStartException("/bin/sh could not be started");
    }
}
