using System.CommandLine;
using BuildFarm.Cli.Commands;

var root = new RootCommand("buildfarm: distributed container image builds (BuildKit-compatible Dockerfiles)");
foreach (var command in CommandCatalog.Create())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
