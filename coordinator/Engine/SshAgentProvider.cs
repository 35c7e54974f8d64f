using Akka.Actor;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// Holds one build's ssh agents on the node where they are reachable (the client's own sockets for an embedded build,
/// the Build call's forwarded ones for a served build) and lets a worker on another host use them: each connection a
/// worker opens becomes a child <see cref="SshAgentConnection"/> joined to the agent's socket here. Only the agent
/// protocol crosses the cluster; keys never leave the agent. The build owns it: when the build ends it stops, and with
/// it every connection (each worker's end hears it closed).
/// </summary>
public sealed class SshAgentProvider : ReceiveActor
{
    /// <summary>Connections one build may hold open at once: a step that leaks them gets a clear refusal, not a host
    /// out of sockets.</summary>
    public const int MaxConnections = 64;

    private readonly string _buildId;
    private readonly IReadOnlyDictionary<string, string> _sockets;

    public SshAgentProvider(string buildId, IReadOnlyDictionary<string, string> sockets)
    {
        _buildId = buildId;
        _sockets = sockets.ToDictionary(StringComparer.Ordinal);
        Receive<SshConnectionOpen>(Open);
    }

    private void Open(SshConnectionOpen open)
    {
        string? refusal = null;
        if (open.BuildId != _buildId)
            refusal = $"this ssh provider serves build {_buildId} only";
        else if (!_sockets.TryGetValue(open.Id, out _))
            refusal = $"no SSH key \"{open.Id}\" forwarded from the client";
        else if (Context.GetChildren().Count() >= MaxConnections)
            refusal = $"build {_buildId} already holds {MaxConnections} ssh agent connections open";
        if (refusal is not null)
        {
            Sender.Tell(new SshConnectionClosed { Connection = open.Connection, Error = refusal });
            return;
        }
        Context.ActorOf(SshAgentConnection.Props(open.Connection, _sockets[open.Id], Sender));
    }

    public static Props Props(string buildId, IReadOnlyDictionary<string, string> sockets) =>
        Akka.Actor.Props.Create(() => new SshAgentProvider(buildId, sockets));
}
