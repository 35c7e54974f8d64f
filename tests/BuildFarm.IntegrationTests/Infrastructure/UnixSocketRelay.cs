using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A unix socket whose connections are relayed byte for byte to a TCP endpoint (a <c>buildfarm serve</c>), so a client
/// that speaks to an engine's socket can be tested against a real server; with no target it accepts and holds
/// connections (a socket that answers). Counts the connections it accepted.
/// </summary>
public sealed class UnixSocketRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint? _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];
    private readonly Task _accepting;
    private int _accepted;

    public UnixSocketRelay(string socketPath, IPEndPoint? target)
    {
        Path = socketPath;
        _target = target;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(socketPath)!);
        File.Delete(socketPath);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(16);
        _accepting = AcceptAsync(_stop.Token);
    }

    public string Path { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            lock (_open) _open.Add(client);
            if (_target is null) continue; // held open until disposed
            _ = RelayAsync(client, _target, cancellationToken);
        }
    }

    private async Task RelayAsync(Socket client, IPEndPoint target, CancellationToken cancellationToken)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_open) _open.Add(upstream);
        try
        {
            await upstream.ConnectAsync(target, cancellationToken);
            await using var a = new NetworkStream(client, ownsSocket: false);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            await Task.WhenAll(PumpAsync(a, b, upstream, cancellationToken), PumpAsync(b, a, client, cancellationToken));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // one side went away: so does the other
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, Socket toSocket, CancellationToken cancellationToken)
    {
        await from.CopyToAsync(to, cancellationToken);
        toSocket.Shutdown(SocketShutdown.Send); // pass the end of the stream on
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        lock (_open)
            foreach (var socket in _open) socket.Dispose();
        await _accepting;
        File.Delete(Path);
        _stop.Dispose();
    }
}
