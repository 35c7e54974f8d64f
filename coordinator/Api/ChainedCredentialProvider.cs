using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Api;

/// <summary>The first provider that knows a registry answers for it (a client's explicit logins before its docker config).</summary>
public sealed class ChainedCredentialProvider(params IRegistryCredentialProvider[] providers) : IRegistryCredentialProvider
{
    public RegistryCredential? Find(string registry)
    {
        foreach (var provider in providers)
            if (provider.Find(registry) is { } credential) return credential;
        return null;
    }
}
