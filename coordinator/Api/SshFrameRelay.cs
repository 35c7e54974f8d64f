using System.Collections.Concurrent;
using System.Net.Sockets;
using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// Both ends of an ssh agent forwarded over a Build stream: local sockets (a RUN step's on the server, the agent's on the
/// client) joined to <see cref="SshFrame"/>s. Each attached socket is read into data frames until it ends (then a close
/// frame); frames from the other side are written to their socket. Knows nothing of which side it is.
/// </summary>
public sealed class SshFrameRelay(Func<SshFrame, CancellationToken, Task> send) : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private readonly ConcurrentDictionary<ulong, Socket> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly List<Task> _pumps = [];

    /// <summary>Starts relaying <paramref name="socket"/> as <paramref name="connection"/>.</summary>
    public void Attach(ulong connection, Socket socket)
    {
        _open[connection] = socket;
        lock (_pumps)
        {
            _pumps.RemoveAll(t => t.IsCompleted);
            _pumps.Add(PumpAsync(connection, socket, _stop.Token));
        }
    }

    public bool IsOpen(ulong connection) => _open.ContainsKey(connection);

    /// <summary>Writes a frame of the other side into its socket (or closes it). Unknown connections are ignored: the
    /// socket ended here already.</summary>
    public async Task DeliverAsync(SshFrame frame, CancellationToken cancellationToken)
    {
        if (!_open.TryGetValue(frame.Connection, out var socket)) return;
        if (frame.Close)
        {
            Close(frame.Connection);
            return;
        }
        try
        {
            var data = frame.Data.Memory;
            while (!data.IsEmpty)
            {
                var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
                data = data[sent..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close(frame.Connection);
            await SendQuietlyAsync(new SshFrame { Connection = frame.Connection, Close = true }, cancellationToken);
        }
    }

    private async Task PumpAsync(ulong connection, Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkBytes];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0) break;
                await send(new SshFrame { Connection = connection, Data = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // the socket or the stream ended; the close frame below tells the other side
        }
        if (_open.ContainsKey(connection))
        {
            Close(connection);
            await SendQuietlyAsync(new SshFrame { Connection = connection, Close = true }, cancellationToken);
        }
    }

    private async Task SendQuietlyAsync(SshFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            await send(frame, cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or Grpc.Core.RpcException)
        {
            // the stream is gone: nobody is left to tell
        }
    }

    private void Close(ulong connection)
    {
        if (_open.TryRemove(connection, out var socket)) socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return; // the owner may end it early and again at scope end
        await _stop.CancelAsync();
        foreach (var connection in _open.Keys) Close(connection);
        Task[] pumps;
        lock (_pumps) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
