using System.Diagnostics;

namespace BuildFarm.Cli.Engine;

/// <summary>
/// The client's side of the resident engine: finds this home's engine (engine.json, same version, answering on its
/// socket) or, under the home's engine.lock, replaces a stale or other-version one and starts one in the background —
/// as Bazel's client starts its server. Concurrent first calls start exactly one engine: the second waits for the
/// lock and then finds the first one's.
/// </summary>
public sealed class ResidentEngine(CliEnvironment environment)
{
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(30);

    /// <summary>How long a started engine may take to serve (a loaded 2-core machine starts one in 2–10 s).</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The last chance of an engine of this version that did not answer within <see cref="ProbeTimeout"/>.</summary>
    private static readonly TimeSpan SlowProbeTimeout = TimeSpan.FromSeconds(30);

    private BuildFarmHome Home => environment.Home;

    /// <summary>The socket of a serving engine of this client's version, started if need be.</summary>
    public async Task<string> EnsureAsync(CancellationToken cancellationToken)
    {
        var version = EngineVersion.Of(environment);
        if (await ServingAsync(version, cancellationToken) is { } socket) return socket;
        Directory.CreateDirectory(Home.Root);
        await using var _ = await LockAsync(cancellationToken);
        // Whoever held the lock before may have started one.
        if (await ServingAsync(version, cancellationToken) is { } started) return started;
        if (await RemoveStaleAsync(version, cancellationToken) is { } slow) return slow;
        using var launched = EngineLauncher.Start(Home, version, IdleTimeout());
        return await WaitUntilServingAsync(launched, version, cancellationToken);
    }

    /// <summary>BUILDFARM_ENGINE_IDLE_TIMEOUT (e.g. 30m, 90s) for the engines this client starts; default 30 minutes.</summary>
    private TimeSpan IdleTimeout()
    {
        var text = environment.Variable("BUILDFARM_ENGINE_IDLE_TIMEOUT");
        if (string.IsNullOrEmpty(text)) return DefaultIdleTimeout;
        return DurationText.TryParse(text, out var timeout)
            ? timeout
            : throw new EngineStartException($"BUILDFARM_ENGINE_IDLE_TIMEOUT={text}: expected a duration such as 30m, 90s or 2h");
    }

    private async Task<string?> ServingAsync(string version, CancellationToken cancellationToken) =>
        EngineRecord.Read(Home.EngineRecord) is { } record && record.Version == version && EngineProcess.IsAlive(record.Pid)
        && await EngineProbe.ServesAsync(record.Socket, ProbeTimeout, cancellationToken)
            ? record.Socket
            : null;

    /// <summary>Under the lock: an engine of another version is stopped (it finishes nothing more: its builds are
    /// canceled by its leave), one that no longer answers even given time is killed, and a dead one's record and socket
    /// removed. Returns the socket of an engine of this version that was only slow to answer.</summary>
    private async Task<string?> RemoveStaleAsync(string version, CancellationToken cancellationToken)
    {
        if (EngineRecord.Read(Home.EngineRecord) is { } record && EngineProcess.IsEngine(record.Pid))
        {
            if (record.Version != version)
            {
                await Console.Error.WriteLineAsync(
                    $"replacing the build engine {record.Pid} (version {record.Version}) with one of this client's version {version}");
                if (!await EngineProcess.StopAsync(record.Pid, TimeSpan.FromSeconds(40), cancellationToken))
                    throw new EngineStartException($"the engine {record.Pid} of version {record.Version} did not stop");
            }
            else if (await EngineProbe.ServesAsync(record.Socket, SlowProbeTimeout, cancellationToken))
            {
                return record.Socket; // busy (a loaded machine), not dead: never kill an engine that runs builds
            }
            else
            {
                await Console.Error.WriteLineAsync($"the build engine {record.Pid} does not answer on {record.Socket}: replacing it");
                EngineProcess.KillNow(record.Pid);
                await EngineProcess.WaitForExitAsync(record.Pid, TimeSpan.FromSeconds(10), cancellationToken);
            }
        }
        File.Delete(Home.EngineRecord);
        // A socket nobody serves (a killed engine's) would make the new engine's bind fail.
        if (File.Exists(Home.EngineSocket) && !await EngineProbe.ServesAsync(Home.EngineSocket, ProbeTimeout, cancellationToken))
            File.Delete(Home.EngineSocket);
        return null;
    }

    private async Task<string> WaitUntilServingAsync(Process launched, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (EngineRecord.Read(Home.EngineRecord) is { } record && record.Version == version
                && await EngineProbe.ServesAsync(record.Socket, ProbeTimeout, cancellationToken))
                return record.Socket;
            // setsid forks (exit 0) when the shell led its group; any other exit is the engine's own failure.
            if (launched.HasExited && launched.ExitCode != 0)
                throw new EngineStartException($"the build engine exited with code {launched.ExitCode} before serving:{LogTail()}");
            await Task.Delay(50, cancellationToken);
        }
        throw new EngineStartException($"the build engine did not serve within {StartTimeout.TotalSeconds:0} s:{LogTail()}");
    }

    private string LogTail()
    {
        var lines = File.Exists(Home.EngineLog) ? File.ReadLines(Home.EngineLog).TakeLast(10).ToList() : [];
        return $" see {Home.EngineLog}" + (lines.Count == 0 ? "" : ":\n  " + string.Join("\n  ", lines));
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        // Waits out another client's whole start (up to StartTimeout) before giving up.
        var deadline = DateTime.UtcNow + StartTimeout + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(Home.EngineLock, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25, cancellationToken);
            }
            catch (IOException e)
            {
                throw new EngineStartException($"{Home.EngineLock} stayed locked by another client: {e.Message}");
            }
        }
    }
}
