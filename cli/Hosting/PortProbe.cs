using System.Net;
using System.Net.Sockets;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// Whether something already listens on a TCP port. Remoting binds with address reuse (on Linux that includes
/// SO_REUSEPORT), so a second node on a taken port would start "fine" and share the first one's connections.
/// </summary>
public static class PortProbe
{
    public static async Task<bool> AnswersAsync(string host, int port, CancellationToken cancellationToken)
    {
        // A wildcard bind is reached on loopback.
        var target = host is "0.0.0.0" or "::" or "[::]" ? "127.0.0.1" : host;
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(target, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
