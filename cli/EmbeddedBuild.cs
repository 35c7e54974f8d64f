using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli;

/// <summary>Runs a build in this process: coordinator and worker of a one-node cluster.</summary>
public static class EmbeddedBuild
{
    public static async Task<int> RunAsync(BuildInvocation invocation, CancellationToken cancellationToken)
    {
        // Wired once the planner lands on this branch.
        await Console.Error.WriteLineAsync("ERROR: this build of buildfarm has no Dockerfile planner yet");
        return 1;
    }
}
