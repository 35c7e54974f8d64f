namespace BuildFarm.Cache;

public enum ContentStoreKind
{
    /// <summary>A folder on this machine (the embedded default).</summary>
    Local,
    /// <summary>An S3 bucket (MinIO in production; any S3 server) through the Minio SDK.</summary>
    S3,
}
