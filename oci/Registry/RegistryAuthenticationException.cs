using System.Net;

namespace BuildFarm.Oci.Registry;

/// <summary>401: The registry wants credentials it was not given, or rejected the ones it was given.</summary>
public sealed class RegistryAuthenticationException(string message, string? errorCode = null)
    : RegistryException(message, (HttpStatusCode)401, errorCode);
