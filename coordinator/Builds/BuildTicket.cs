namespace BuildFarm.Coordinator.Builds;

/// <summary>Who a build is and whose: its id (chosen before it starts, so the caller can Watch or Cancel it) and the team
/// the caller's token maps to (empty for a local build or an open server).</summary>
public sealed record BuildTicket(string BuildId, string Team)
{
    public static BuildTicket Local() => new(NewId(), "");

    /// <summary>Agent sockets on this host by ssh id that the server made for this build (its client's --ssh, forwarded
    /// over the Build call); empty otherwise.</summary>
    public IReadOnlyDictionary<string, string> SshSockets { get; init; } = new Dictionary<string, string>();

    /// <summary>Folders on this host, by --build-context name, where the server wrote the files its client sent for a named
    /// folder or OCI layout (over the Build call, like the main context); empty otherwise.</summary>
    public IReadOnlyDictionary<string, string> NamedContextFolders { get; init; } = new Dictionary<string, string>();

    /// <summary>A registry client for this build's base image pulls (a resident engine's caller: its own docker config and
    /// proxies, see <c>ClientRegistryAccess</c>); null: this host's registry client.</summary>
    public Func<Oci.Registry.RegistryClient>? PullRegistry { get; init; }

    /// <summary>The build reads its context folder on this host in place (a resident engine's own user): no publication
    /// through the store, the worker reads the folder, as in an embedded build.</summary>
    public bool ContextInPlace { get; init; }

    public static string NewId() => Guid.NewGuid().ToString("N");
}
