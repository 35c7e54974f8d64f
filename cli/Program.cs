using System.CommandLine;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;

var root = new RootCommand("buildfarm: distributed container image builds (BuildKit-compatible Dockerfiles)");
// The environment is read here, once; every command and library gets it as options.
foreach (var command in CommandCatalog.Create(CliEnvironment.FromProcess()))
    root.Subcommands.Add(command);
// Ctrl+C cancels the running command; give it time to stop containers and remove mounts before the process ends.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
