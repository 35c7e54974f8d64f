namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>The <c>sharing=</c> of a cache mount.</summary>
public enum MountSharing
{
    Shared,
    Private,
    Locked,
}
