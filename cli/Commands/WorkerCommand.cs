using System.CommandLine;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm worker</c>: the worker role of a farm: runs steps for its coordinators.</summary>
public static class WorkerCommand
{
    public static Command Create(CliEnvironment environment) =>
        HostCommand.Create("worker", "Run a farm worker (runs steps; joins the coordinators given by --seeds)", HostRole.Worker, environment);
}
