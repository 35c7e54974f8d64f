using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A TCP relay in front of a server that keeps every byte the clients sent to it: what the server could
/// have received, counted and searchable.</summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly MemoryStream _toServer = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<TcpClient> _open = [];

    public CountingProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public long BytesToServer { get { lock (_toServer) return _toServer.Length; } }

    public bool SentToServer(string text)
    {
        byte[] bytes;
        lock (_toServer) bytes = _toServer.ToArray();
        return bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
    }

    public void Reset() { lock (_toServer) _toServer.SetLength(0); }

    /// <summary>Cuts every connection relayed so far, as a network that fails would; new ones are relayed again.</summary>
    public void DropConnections()
    {
        lock (_open)
        {
            foreach (var client in _open) client.Client.Close(0);
            _open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        lock (_open) _open.Add(client);
        using var server = new TcpClient();
        await server.ConnectAsync(_target, _stop.Token);
        var up = CopyAsync(client.GetStream(), server.GetStream(), record: true);
        var down = CopyAsync(server.GetStream(), client.GetStream(), record: false);
        await Task.WhenAny(up, down);
    }

    private async Task CopyAsync(Stream from, Stream to, bool record)
    {
        var buffer = new byte[81920];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (record) lock (_toServer) _toServer.Write(buffer, 0, read);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
    }
}
