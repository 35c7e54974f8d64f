using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>The blob is not in the store. Also the base of <see cref="BlobCorruptedException"/>: a blob that fails
/// verification is removed and so is a miss too.</summary>
public class BlobNotFoundException : Exception
{
    public BlobNotFoundException(Digest digest, string location)
        : base($"blob {digest} not found in {location}") => Digest = digest;

    protected BlobNotFoundException(Digest digest, string message, Exception? inner)
        : base(message, inner) => Digest = digest;

    public Digest Digest { get; }
}
