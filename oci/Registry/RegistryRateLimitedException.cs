using System.Net;

namespace BuildFarm.Oci.Registry;

/// <summary>429: The registry refused the request because too many were made.</summary>
public sealed class RegistryRateLimitedException(string message, string? errorCode = null)
    : RegistryException(message, (HttpStatusCode)429, errorCode);
