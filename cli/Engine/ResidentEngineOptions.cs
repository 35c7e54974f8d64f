using System.CommandLine;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli.Engine;

/// <summary>serve's flags for the resident engine: <c>--socket</c> and <c>--idle-timeout</c> to be one (what a client
/// starts), <c>--status</c> and <c>--stop</c> to ask about or stop this home's.</summary>
public sealed class ResidentEngineOptions
{
    public Option<string?> Socket { get; } = new("--socket")
    {
        Description = "Serve the API on this unix socket as the home's resident engine (writes $BUILDFARM_HOME/engine.json once ready) instead of --listen",
    };

    public Option<string?> IdleTimeout { get; } = new("--idle-timeout")
    {
        Description = "With --socket: stop after this long with no build and no call (30m, 90s, 2h; default: never)",
    };

    public Option<bool> Status { get; } = new("--status")
    {
        Description = "Print this home's resident engine (pid, version, socket, start) and whether it answers; exit 3 when none runs",
    };

    public Option<bool> Stop { get; } = new("--stop")
    {
        Description = "Stop this home's resident engine (SIGTERM: running builds are canceled; SIGKILL after 40 s)",
    };

    public IEnumerable<Option> All => [Socket, IdleTimeout, Status, Stop];

    /// <summary>The engine this serve should be; null for a plain server.</summary>
    public ResidentServeOptions? Serve(ParseResult parse)
    {
        var idleText = parse.GetValue(IdleTimeout);
        if (parse.GetValue(Socket) is not { } socket)
            return idleText is null ? null : throw new UsageException("--idle-timeout needs --socket (only a resident engine stops when idle)");
        TimeSpan? idle = null;
        if (idleText is not null)
            idle = DurationText.TryParse(idleText, out var parsed)
                ? parsed
                : throw new UsageException($"--idle-timeout {idleText}: expected a duration such as 30m, 90s or 2h");
        return new ResidentServeOptions(Path.GetFullPath(socket), idle);
    }

    /// <summary>--status or --stop as a command of its own; null when neither was given.</summary>
    public Func<CliEnvironment, CancellationToken, Task<int>>? Control(ParseResult parse) =>
        parse.GetValue(Stop) ? EngineControl.StopAsync
        : parse.GetValue(Status) ? EngineControl.StatusAsync
        : null;
}
