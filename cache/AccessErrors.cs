using System.Net;
using Minio.Exceptions;

namespace BuildFarm.Cache;

/// <summary>Recognises an S3 "your credentials are wrong" answer, by status, SDK type or error code in the text
/// (some S3 servers send error XML with an empty message, so no single signal is enough).</summary>
internal static class AccessErrors
{
    private static readonly string[] Codes = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"];

    /// <summary>The S3 error code (or "403 Forbidden") when <paramref name="e"/> is a refusal of the credentials, else null.</summary>
    public static string? RefusalCode(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            var text = current.Message + " " + (current as MinioException)?.ServerMessage;
            foreach (var code in Codes)
                if (text.Contains(code, StringComparison.Ordinal)) return code;
            if (current is AccessDeniedException || text.Contains("Access denied", StringComparison.OrdinalIgnoreCase)) return "AccessDenied";
            if (current is HttpRequestException { StatusCode: HttpStatusCode.Forbidden }
                || current is MinioException { ServerResponse.StatusCode: HttpStatusCode.Forbidden })
                return "403 Forbidden";
        }
        return null;
    }
}
