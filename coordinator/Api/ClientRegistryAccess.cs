using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// How a build on a resident engine reaches registries as its own client would (<c>BuildSpec.client_environment</c>):
/// the client's explicit logins, then the docker config its DOCKER_CONFIG names (credential helpers included), through the
/// client's proxies or directly when it has none — never the environment of whichever client started the engine. Only
/// for callers of the engine's own socket: they are the user it runs as, so reading their docker config gives them nothing
/// they do not have. Held for one build; its connections close with it.
/// </summary>
public sealed class ClientRegistryAccess : IDisposable
{
    private readonly SocketsHttpHandler _handler;

    private ClientRegistryAccess(IRegistryCredentialProvider credentials, ClientProxy? proxy)
    {
        Credentials = credentials;
        _handler = new SocketsHttpHandler { UseProxy = proxy is not null, Proxy = proxy };
    }

    /// <summary>The logins and docker config this build pushes and pulls with.</summary>
    public IRegistryCredentialProvider Credentials { get; }

    /// <summary>Null when the client sent no environment (an older client): the engine's own settings stay in force.</summary>
    public static ClientRegistryAccess? From(IReadOnlyDictionary<string, string> environment, ClientRegistryLogins logins)
    {
        if (environment.Count == 0) return null;
        IRegistryCredentialProvider credentials = environment.TryGetValue(Protos.ClientEnvironmentVariables.DockerConfig, out var dir) && Path.IsPathFullyQualified(dir)
            ? new ChainedCredentialProvider(logins, DockerConfigCredentialProvider.FromDirectory(dir))
            : logins;
        return new ClientRegistryAccess(credentials, ClientProxy.From(environment));
    }

    /// <summary>A registry client of this build (the caller disposes it; the connections are this access's).</summary>
    public RegistryClient Open() => new(new RegistryClientOptions { Credentials = Credentials }, _handler);

    public void Dispose() => _handler.Dispose();
}
