using BuildFarm.Oci.Registry;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The registry credentials one served build's client sent (<see cref="BuildSpec.RegistryLogins"/>): the only ones its push
/// uses, so no client pushes with the farm's own logins. Held in memory for that build only.
/// </summary>
public sealed class ClientRegistryLogins : IRegistryCredentialProvider
{
    private readonly Dictionary<string, RegistryCredential> _byRegistry = new(StringComparer.OrdinalIgnoreCase);

    public ClientRegistryLogins(IEnumerable<RegistryLogin> logins)
    {
        foreach (var login in logins)
        {
            if (login.Registry.Length == 0) continue;
            _byRegistry[login.Registry] = new RegistryCredential(login.Username, login.Password)
            {
                IdentityToken = login.IdentityToken.Length > 0 ? login.IdentityToken : null,
            };
        }
    }

    public int Count => _byRegistry.Count;

    public RegistryCredential? Find(string registry) => _byRegistry.GetValueOrDefault(registry);
}
