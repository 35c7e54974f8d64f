using System.CommandLine;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;

// Read from args directly: a failure may come before (or while) the command line is parsed.
var debugRequested = args.Contains("--debug");
try
{
    var root = new RootCommand("buildfarm: distributed container image builds (BuildKit-compatible Dockerfiles)");
    root.Options.Add(new Option<bool>("--debug") { Recursive = true, Description = "On failure, print the full .NET stack trace; keep engine logs with stacks in $BUILDFARM_HOME/logs/engine.log" });
    // The environment is read here, once; every command and library gets it as options.
    foreach (var command in CommandCatalog.Create(CliEnvironment.FromProcess(debugRequested)))
        root.Subcommands.Add(command);
    // Ctrl+C cancels the running command; give it time to stop containers and remove mounts before the process ends.
    var exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration
    {
        ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        EnableDefaultExceptionHandler = false,
    });
    // The native client prints the same line (bench/client-start.sh compares the two)
    if (Environment.GetEnvironmentVariable("BUILDFARM_CLIENT_TRACE") == "1")
        await Console.Error.WriteLineAsync($"buildfarm: managed CLI: {System.Runtime.JitInfo.GetCompiledMethodCount()} methods JIT-compiled");
    return exit;
}
catch (Exception e)
{
    // Whatever a command did not turn into a result is still one line for the user; the stack is for --debug.
    await Console.Error.WriteLineAsync(debugRequested ? $"ERROR: {e}" : $"ERROR: {FailureLine.Of(e)} (--debug shows the stack trace)");
    return 1;
}
