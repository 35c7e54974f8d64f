namespace BuildFarm.Oci;

/// <summary>Content did not hash to (or was not the size of) the descriptor that named it.</summary>
public sealed class BlobDigestMismatchException(Digest expected, Digest actual, long expectedSize, long actualSize)
    : Exception(expectedSize >= 0 && expectedSize != actualSize
        ? $"blob {expected}: expected {expectedSize} bytes, got {actualSize} (digest {actual})"
        : $"blob digest mismatch: expected {expected}, got {actual}")
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}
