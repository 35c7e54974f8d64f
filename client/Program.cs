using System.Runtime.InteropServices;
using BuildFarm.Client;

// The native client takes `buildfarm build` when a resident engine of this CLI's version answers on its socket, and
// hands every other command line to the managed CLI unchanged (execv: same pid, exit code and signals).
var trace = Environment.GetEnvironmentVariable("BUILDFARM_CLIENT_TRACE") == "1";
var clock = System.Diagnostics.Stopwatch.StartNew();

int FallThrough(string why)
{
    if (trace) Console.Error.WriteLine($"buildfarm-client: managed CLI: {why}");
    return ManagedCli.Exec(args);
}

if (BuildCommandLine.TryParse(args, out var why) is not { } line) return FallThrough(why);
var ci = Environment.GetEnvironmentVariable("CI") is { Length: > 0 };
var home = Environment.GetEnvironmentVariable("BUILDFARM_HOME") is { Length: > 0 } named && !string.IsNullOrWhiteSpace(named)
    ? Path.GetFullPath(named)
    : Path.Combine(Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } user ? user : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".buildfarm");
using var engine = EngineConnection.TryOpen(home, out why);
if (engine is null) return FallThrough(why);

using var cancel = new CancellationTokenSource();
// Ctrl+C / SIGTERM cancel the build (the engine is told); the exit code is then 130, as the managed CLI's.
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}

var build = new EngineBuild(line, home, engine);
var (spec, contextDir, dockerfilePath, unprepared) = await build.PrepareAsync(cancel.Token);
if (spec is null) return FallThrough(unprepared);
var exit = await build.RunAsync(spec, contextDir, dockerfilePath, ci, cancel.Token);
if (trace)
    Console.Error.WriteLine($"buildfarm-client: native build through unix:{engine.SocketPath}: {clock.ElapsedMilliseconds} ms, " +
                            $"{System.Runtime.JitInfo.GetCompiledMethodCount()} methods JIT-compiled");
return exit;
