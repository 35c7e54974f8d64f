using BuildFarm.Oci;

namespace BuildFarm.Cache;

public sealed record BlobInfo(Digest Digest, long Size, DateTimeOffset LastModified);
