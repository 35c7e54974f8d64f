namespace BuildFarm.Oci;

/// <summary>A blob or manifest that is not where it was looked for.</summary>
public sealed class BlobNotFoundException(Digest digest, string message) : Exception(message)
{
    public Digest Digest { get; } = digest;
}
