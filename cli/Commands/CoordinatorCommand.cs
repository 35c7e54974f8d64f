using System.CommandLine;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm coordinator</c>: the coordinator role of a farm with the gRPC Build API; runs no steps.</summary>
public static class CoordinatorCommand
{
    public static Command Create(CliEnvironment environment) =>
        HostCommand.Create("coordinator", "Run a farm coordinator (gRPC Build API, planning, scheduling; no worker)", HostRole.Coordinator, environment);
}
