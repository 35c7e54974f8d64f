using System.Net;
using System.Net.Sockets;
using Minio.Exceptions;
using Polly.Timeout;

namespace BuildFarm.Cache;

/// <summary>Which failures are worth retrying. Decided on HTTP status and exception type together, because some
/// S3 servers send error XML with an empty message and the SDK then picks a generic exception type.</summary>
internal static class TransientErrors
{
    public static bool IsTransient(Exception e) => e switch
    {
        BlobNotFoundException or DigestMismatchException => false,
        TimeoutRejectedException => true,
        OperationCanceledException => true, // an HttpClient or per-attempt timeout; the caller's own cancel is filtered earlier
        HttpRequestException h => h.StatusCode is null || IsTransientStatus(h.StatusCode.Value),
        SocketException => true,
        MinioException m when m.ServerResponse is { } r && r.StatusCode != 0 => IsTransientStatus(r.StatusCode),
        ConnectionException or InternalServerException => true,
        MinioException m => m.InnerException is { } inner ? IsTransient(inner) : m.Message.Contains("connection", StringComparison.OrdinalIgnoreCase),
        InvalidDataException => false,
        IOException => true, // a connection reset mid-body
        _ => e.InnerException is { } i && IsTransient(i),
    };

    public static bool IsTransientStatus(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    /// <summary>S3 "no such key": by type, by status, or by the error code in the message.</summary>
    public static bool IsNotFound(Exception e) => e switch
    {
        ObjectNotFoundException => true,
        HttpRequestException { StatusCode: HttpStatusCode.NotFound } => true,
        MinioException m when m.ServerResponse is { StatusCode: HttpStatusCode.NotFound } => true,
        MinioException m => m.Message.Contains("NoSuchKey", StringComparison.Ordinal) || m.Message.Contains("Not found", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
