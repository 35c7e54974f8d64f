namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>What a farm host process runs as: <c>buildfarm coordinator</c> or <c>buildfarm worker</c>.</summary>
public enum FarmRole
{
    Coordinator,
    Worker,
}
