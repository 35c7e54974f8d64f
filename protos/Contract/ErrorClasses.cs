using System.Net.Sockets;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Protos;

/// <summary>The one place an exception becomes an <see cref="ErrorClass"/>: everyone else decides by class.</summary>
public static class ErrorClasses
{
    public static ErrorClass Of(Exception error) => error switch
    {
        ClassifiedException classified => classified.ErrorClass,
        OperationCanceledException => ErrorClass.Canceled,
        // The store, a registry or the network did not answer: another try (elsewhere) may succeed.
        HttpRequestException or TimeoutException or SocketException or IOException => ErrorClass.Unavailable,
        _ => ErrorClass.Internal,
    };

    /// <summary>An unavailable failure is worth one more dispatch; nothing else is.</summary>
    public static bool IsRetryable(ErrorClass errorClass) => errorClass == ErrorClass.Unavailable;
}
