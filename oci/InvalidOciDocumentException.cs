namespace BuildFarm.Oci;

/// <summary>A manifest, index, config or layout document that is malformed or breaks the OCI image spec.</summary>
public sealed class InvalidOciDocumentException : Exception
{
    public InvalidOciDocumentException(string message) : base(message) { }
    public InvalidOciDocumentException(string message, Exception inner) : base(message, inner) { }
}
