namespace BuildFarm.Oci.Registry;

/// <summary>How a blob push ended.</summary>
public enum BlobPushResult
{
    AlreadyPresent,
    Mounted,
    Uploaded,
}
