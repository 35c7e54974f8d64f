namespace BuildFarm.Cli.Remote;

/// <summary>How a client reaches a farm besides its address: a bearer token and the CA file it trusts (null: none, and
/// the system's trust store).</summary>
public sealed record RemoteEndpointOptions(string? Token, string? TlsCaCert)
{
    public static RemoteEndpointOptions None { get; } = new(null, null);
}
