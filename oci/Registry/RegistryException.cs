using System.Net;

namespace BuildFarm.Oci.Registry;

/// <summary>A registry answered with an error (or could not be reached); the message names the registry, repository and cause.</summary>
public class RegistryException : Exception
{
    public RegistryException(string message, HttpStatusCode? statusCode = null, string? errorCode = null, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    public HttpStatusCode? StatusCode { get; }

    /// <summary>The distribution-spec error code from the body (MANIFEST_UNKNOWN, DENIED, …), when there was one.</summary>
    public string? ErrorCode { get; }
}
