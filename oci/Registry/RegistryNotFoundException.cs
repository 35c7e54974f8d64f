using System.Net;

namespace BuildFarm.Oci.Registry;

/// <summary>404: The repository, manifest or blob does not exist in the registry.</summary>
public sealed class RegistryNotFoundException(string message, string? errorCode = null)
    : RegistryException(message, (HttpStatusCode)404, errorCode);
