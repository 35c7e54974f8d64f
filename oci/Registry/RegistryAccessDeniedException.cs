using System.Net;

namespace BuildFarm.Oci.Registry;

/// <summary>403: The registry knows who we are and refuses the operation.</summary>
public sealed class RegistryAccessDeniedException(string message, string? errorCode = null)
    : RegistryException(message, (HttpStatusCode)403, errorCode);
