using BuildFarm.Oci;

namespace BuildFarm.Cache;

public sealed class BlobNotFoundException(Digest digest, string location)
    : Exception($"blob {digest} not found in {location}")
{
    public Digest Digest { get; } = digest;
}
