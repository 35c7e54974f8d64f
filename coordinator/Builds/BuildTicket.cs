namespace BuildFarm.Coordinator.Builds;

/// <summary>Who a build is and whose: its id (chosen before it starts, so the caller can Watch or Cancel it) and the team
/// the caller's token maps to (empty for a local build or an open server).</summary>
public sealed record BuildTicket(string BuildId, string Team)
{
    public static BuildTicket Local() => new(NewId(), "");

    /// <summary>Agent sockets on this host by ssh id that the server made for this build (its client's --ssh, forwarded
    /// over the Build call); empty otherwise.</summary>
    public IReadOnlyDictionary<string, string> SshSockets { get; init; } = new Dictionary<string, string>();

    /// <summary>The build reads its context folder on this host in place (a resident engine's own user): no publication
    /// through the store, the worker reads the folder, as in an embedded build.</summary>
    public bool ContextInPlace { get; init; }

    public static string NewId() => Guid.NewGuid().ToString("N");
}
