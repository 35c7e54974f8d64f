using System.Net.Sockets;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// RUN --mount=type=ssh: a socket of the step's own (owned by the mount's uid/gid, with its mode) that relays each
/// connection to the build's agent socket. The container never sees the agent's own socket or any key: only the agent
/// protocol crosses, and the socket goes away with the step.
/// </summary>
public sealed class UnixSocketProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _upstream;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];

    public UnixSocketProxy(string path, string upstream, int uid, int gid, uint mode)
    {
        Path = path;
        _upstream = upstream;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            Native.LinuxNative.LchownOrThrow(path, uid, gid);
            Native.LinuxNative.ChmodOrThrow(path, mode);
            _listener.Listen(16);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        _accepting = AcceptAsync(_stop.Token);
    }

    public string Path { get; }

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
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(RelayAsync(client, cancellationToken));
            }
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                await upstream.ConnectAsync(new UnixDomainSocketEndPoint(_upstream), cancellationToken);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);
                // Either side closing ends the relay: the agent protocol is request/answer on one connection.
                var toAgent = Pump(a, b, upstream, cancellationToken);
                var fromAgent = Pump(b, a, client, cancellationToken);
                await Task.WhenAll(toAgent, fromAgent);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // a client that went away, or the step ending: nothing to report
            }
        }
    }

    private static async Task Pump(Stream from, Stream to, Socket toSocket, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
        }
        finally
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return; // the owner may end it early and again at scope end
        await _stop.CancelAsync();
        _listener.Dispose();
        Task[] open;
        lock (_connections) open = [.. _connections];
        await Task.WhenAll(open.Append(_accepting));
        _stop.Dispose();
        File.Delete(Path);
    }
}
