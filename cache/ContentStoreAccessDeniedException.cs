namespace BuildFarm.Cache;

/// <summary>The store answered but refused the credentials (403: InvalidAccessKeyId, SignatureDoesNotMatch,
/// AccessDenied). Not worth a retry; the message names the endpoint and bucket and what to check.</summary>
public sealed class ContentStoreAccessDeniedException(string location, string operation, string code, Exception? inner)
    : UnauthorizedAccessException($"cache store {location} refused the credentials ({code} on {operation}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", inner)
{
    public string Location { get; } = location;
}
