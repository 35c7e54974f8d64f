using System.CommandLine;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm serve</c>: coordinator and worker in one process, serving the Build API over gRPC (h2c).</summary>
public static class ServeCommand
{
    public static Command Create(CliEnvironment environment) =>
        HostCommand.Create("serve", "Run a build server (coordinator + worker) with the gRPC Build API", HostRole.Both, environment);
}
