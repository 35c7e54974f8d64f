using System.Net.Sockets;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// RUN --mount=type=ssh (and git over ssh): a socket of the step's own (owned by the mount's uid/gid, with its mode) that
/// relays each connection to the build's agent — its socket on this host, or a stream through the node that holds it.
/// The container never sees the agent's own socket or any key: only the agent protocol crosses, and the socket goes
/// away with the step (closing every connection it relays).
/// </summary>
public sealed class UnixSocketProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<CancellationToken, Task<Stream>> _connect;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];

    /// <summary>Relays each connection to what <paramref name="connect"/> opens (e.g. <see cref="ConnectUnixAsync"/> of the
    /// agent's socket on this host).</summary>
    public UnixSocketProxy(string path, Func<CancellationToken, Task<Stream>> connect, int uid, int gid, uint mode)
    {
        Path = path;
        _connect = connect;
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

    /// <summary>A connection to the unix socket <paramref name="path"/> as a stream (owning the socket).</summary>
    public static async Task<Stream> ConnectUnixAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

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
        {
            try
            {
                await using var upstream = await _connect(cancellationToken);
                await using var local = new NetworkStream(client, ownsSocket: false);
                // Either side ending ends the other's writing: the agent protocol is request/answer on one connection.
                var toAgent = Pump(local, upstream, () => EndWriting(upstream), cancellationToken);
                var fromAgent = Pump(upstream, local, () => Shutdown(client), cancellationToken);
                await Task.WhenAll(toAgent, fromAgent);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // a client that went away, an agent that cannot be reached, or the step ending: the client sees the close
            }
        }
    }

    private static async Task Pump(Stream from, Stream to, Action ended, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // one side broke: the other is told below
        }
        finally
        {
            ended();
        }
    }

    /// <summary>A local agent socket is half-closed (its answer may still come); a relayed connection has no half-close,
    /// so it closes (the remote end closes the agent's side).</summary>
    private static void EndWriting(Stream upstream)
    {
        if (upstream is NetworkStream network) Shutdown(network.Socket);
        else upstream.Dispose();
    }

    private static void Shutdown(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
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
