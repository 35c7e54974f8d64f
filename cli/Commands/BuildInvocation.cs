using BuildFarm.Cli.Remote;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary>A parsed <c>buildfarm build</c> command line.</summary>
public sealed record BuildInvocation(
    BuildSpec Spec,
    string ContextDir,
    string DockerfilePath,
    string Progress,
    string? IidFile,
    string? MetadataFile,
    bool Quiet,
    string? Server,
    IReadOnlyList<string> NoCacheFilter,
    CliEnvironment Environment)
{
    /// <summary>cgroup limits of RUN steps on the embedded worker (a server's worker has its own; the build's asks are in
    /// <see cref="BuildSpec.RunLimits"/>).</summary>
    public Worker.Execution.ContainerLimits RunLimits { get; init; } = Worker.Execution.ContainerLimits.Default;

    /// <summary>With <see cref="Server"/>: the token and the CA file for the farm.</summary>
    public RemoteEndpointOptions Remote { get; init; } = RemoteEndpointOptions.None;

    /// <summary>--load into a docker daemon: the daemon, and the Docker archive the build writes for it (an output of its spec).</summary>
    public (DockerEngineLoad Daemon, string Archive)? Load { get; init; }

    /// <summary>--load with no docker daemon: the image stays in the farm's own image store (said after the build).</summary>
    public bool LoadIntoFarmStore { get; init; }

    /// <summary>--call=outline|targets,format=json: "json" prints BuildKit's JSON instead of buildx's table.</summary>
    public string CallFormat { get; init; } = "";
}
