using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>A loopback HTTP endpoint that misbehaves on purpose: it reads each request, then either sends nothing
/// (<paramref name="bodyBytes"/> null) or a 200 with a Content-Length larger than the <paramref name="bodyBytes"/> it
/// sends, and holds the connection open until disposed (a registry that stalls before or mid-response).</summary>
public sealed class StallingHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[]? _body;
    private readonly Task _accepting;
    private int _requests;

    public StallingHttpServer(byte[]? bodyBytes)
    {
        _body = bodyBytes;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Requests received so far (each attempt of a retrying client is one).</summary>
    public int Requests => Volatile.Read(ref _requests);

    private async Task AcceptAsync()
    {
        var held = new List<TcpClient>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                held.Add(client);
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        finally
        {
            foreach (var c in held) c.Dispose();
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[8192];
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            Interlocked.Increment(ref _requests);
            if (_body is not null)
            {
                var head = $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {_body.Length * 100}\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                await stream.WriteAsync(_body, _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
