using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli;

/// <summary>The registry client of client verbs: credentials from $DOCKER_CONFIG/config.json (else ~/.docker), shared with docker and skopeo.</summary>
public static class RegistryClients
{
    public static RegistryClient Create(CliEnvironment environment) => new(new RegistryClientOptions
    {
        Credentials = DockerConfigCredentialProvider.FromDirectory(environment.DockerConfigDirectory),
    });
}
