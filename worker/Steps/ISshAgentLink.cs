namespace BuildFarm.Worker.Steps;

/// <summary>How a worker reaches a build's ssh agents that live on another host (the coordinator that holds them): one
/// stream per agent connection, speaking the agent protocol. Disposing the stream closes the connection.</summary>
public interface ISshAgentLink
{
    /// <summary>Opens a connection to the build's agent <paramref name="id"/>; throws <see cref="IOException"/> naming the
    /// cause when the agent cannot be reached.</summary>
    Task<Stream> ConnectAsync(string id, CancellationToken cancellationToken);
}
