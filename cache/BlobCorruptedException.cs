using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>The bytes stored under a digest do not hash to it. The store has removed the blob, so callers that
/// treat <see cref="BlobNotFoundException"/> as a miss fetch or rebuild it.</summary>
public sealed class BlobCorruptedException(Digest digest, Digest actual, string location)
    : BlobNotFoundException(digest, $"blob {digest} in {location} is corrupted (its bytes hash to {actual}); it was removed", null)
{
    public Digest Actual { get; } = actual;
}
