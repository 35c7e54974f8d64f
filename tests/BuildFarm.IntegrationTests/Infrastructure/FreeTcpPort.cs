using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>A loopback TCP port nobody listens on right now (the OS picks it; the listener is closed again).</summary>
public static class FreeTcpPort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until a daemon listens on 127.0.0.1:<paramref name="port"/>; false when it exits or the time is up.</summary>
    public static bool WaitUntilListening(int port, Process daemon, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect("127.0.0.1", port);
                return true;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !daemon.HasExited)
            {
                Thread.Sleep(50);
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
