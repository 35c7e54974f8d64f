using System.CommandLine;
using BuildFarm.Cli.Commands;

var root = new RootCommand("buildfarm: distributed container image builds (BuildKit-compatible Dockerfiles)");
foreach (var command in CommandCatalog.Create())
    root.Subcommands.Add(command);
// Ctrl+C cancels the running command; give it time to stop containers and remove mounts before the process ends.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
