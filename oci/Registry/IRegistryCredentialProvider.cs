namespace BuildFarm.Oci.Registry;

/// <summary>Looks up the credential for a registry host (as in an image reference: "docker.io", "localhost:5000").</summary>
public interface IRegistryCredentialProvider
{
    RegistryCredential? Find(string registry);
}
