namespace BuildFarm.Oci.Registry;

/// <summary>Credentials given directly, keyed by registry host.</summary>
public sealed class StaticCredentialProvider(IReadOnlyDictionary<string, RegistryCredential> credentials) : IRegistryCredentialProvider
{
    public RegistryCredential? Find(string registry) =>
        credentials.TryGetValue(registry, out var credential) ? credential : null;
}
