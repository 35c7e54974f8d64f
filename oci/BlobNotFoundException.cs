namespace BuildFarm.Oci;

/// <summary>A blob or manifest that is not in the place it was looked for (a store, a layout, a registry).</summary>
public class BlobNotFoundException : Exception
{
    public BlobNotFoundException(Digest digest, string location)
        : this(digest, $"blob {digest} not found in {location}", null)
    {
    }

    protected BlobNotFoundException(Digest digest, string message, Exception? inner)
        : base(message, inner)
    {
        Digest = digest;
    }

    public Digest Digest { get; }
}
