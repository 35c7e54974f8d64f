namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>What <see cref="RegistryFaultProxy"/> does to one incoming connection instead of forwarding it.</summary>
public enum RegistryFault
{
    /// <summary>Read the request, then reset the TCP connection.</summary>
    ConnectionReset,

    /// <summary>Answer 503 Service Unavailable.</summary>
    ServiceUnavailable,

    /// <summary>Answer 429 Too Many Requests with Retry-After: 1.</summary>
    TooManyRequests,

    /// <summary>Answer 403 Forbidden with a DENIED error, as a registry does for a repository the user may not touch.</summary>
    Forbidden,
}
