namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>The test registry process did not come up.</summary>
public sealed class RegistryStartException(string message, bool portInUse) : Exception(message)
{
    public bool PortInUse { get; } = portInUse;
}
