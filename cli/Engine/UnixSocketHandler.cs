using System.Net.Sockets;

namespace BuildFarm.Cli.Engine;

/// <summary>An HTTP/2 handler whose every connection is to one unix socket (the resident engine's): gRPC over it needs
/// a placeholder address, <see cref="Address"/>.</summary>
public static class UnixSocketHandler
{
    public static readonly Uri Address = new("http://localhost");

    public static SocketsHttpHandler Create(string socketPath) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
