using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Content given to a put did not hash to the digest the caller expected; nothing was stored.</summary>
public sealed class DigestMismatchException(Digest expected, Digest actual, string location)
    : IOException($"content for {location} hashes to {actual}, not the expected {expected}; nothing was stored")
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}
