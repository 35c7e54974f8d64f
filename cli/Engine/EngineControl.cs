namespace BuildFarm.Cli.Engine;

/// <summary><c>buildfarm serve --status</c> and <c>--stop</c>: this home's resident engine, by its engine.json.</summary>
public static class EngineControl
{
    public const int ExitNotRunning = 3;

    public static async Task<int> StatusAsync(CliEnvironment environment, CancellationToken cancellationToken)
    {
        var home = environment.Home;
        if (EngineRecord.Read(home.EngineRecord) is not { } record || !EngineProcess.IsEngine(record.Pid))
        {
            Console.WriteLine($"no engine runs for {home.Root}");
            return ExitNotRunning;
        }
        var answers = await EngineProbe.ServesAsync(record.Socket, TimeSpan.FromSeconds(5), cancellationToken);
        var mine = EngineVersion.Of(environment);
        Console.WriteLine($"engine {record.Pid} {(answers ? "serving" : "NOT answering")} on unix:{record.Socket}");
        Console.WriteLine($"  version {record.Version}{(record.Version == mine ? "" : $" (this client: {mine}; its next build replaces it)")}");
        Console.WriteLine($"  started {record.Started:u} ({FormatAge(DateTimeOffset.UtcNow - record.Started)} ago), log {home.EngineLog}");
        return 0;
    }

    public static async Task<int> StopAsync(CliEnvironment environment, CancellationToken cancellationToken)
    {
        var home = environment.Home;
        if (EngineRecord.Read(home.EngineRecord) is not { } record || !EngineProcess.IsEngine(record.Pid))
        {
            // A dead engine's leftovers would only be replaced later: remove them now (a home never made has none).
            if (!Directory.Exists(home.Root))
            {
                Console.WriteLine($"no engine runs for {home.Root}");
                return 0;
            }
            File.Delete(home.EngineRecord);
            if (File.Exists(home.EngineSocket) && !await EngineProbe.ServesAsync(home.EngineSocket, TimeSpan.FromSeconds(2), cancellationToken))
                File.Delete(home.EngineSocket);
            Console.WriteLine($"no engine runs for {home.Root}");
            return 0;
        }
        if (!await EngineProcess.StopAsync(record.Pid, TimeSpan.FromSeconds(40), cancellationToken))
        {
            await Console.Error.WriteLineAsync($"ERROR: engine {record.Pid} did not stop, even after SIGKILL");
            return 1;
        }
        Console.WriteLine($"engine {record.Pid} stopped");
        return 0;
    }

    private static string FormatAge(TimeSpan age) =>
        age.TotalHours >= 1 ? $"{(int)age.TotalHours}h{age.Minutes:00}m" : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes}m{age.Seconds:00}s" : $"{age.Seconds}s";
}
