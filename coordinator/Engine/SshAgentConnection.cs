using System.Net.Sockets;
using Akka.Actor;
using BuildFarm.Protos.Cluster;
using Google.Protobuf;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The agent's end of one forwarded ssh agent connection: a connection to the agent's unix socket on this host, joined
/// to the worker's end (<c>peer</c>) by <see cref="SshConnectionData"/> frames. Either side ending ends both: the
/// agent closing sends the peer a close; the peer closing, or dying (death watch), closes the agent's socket.
/// </summary>
public sealed class SshAgentConnection : ReceiveActor
{
    private const int ChunkBytes = 16 * 1024;

    private readonly string _connection;
    private readonly string _socketPath;
    private readonly IActorRef _peer;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private bool _peerKnowsClosed;

    private sealed record Connected(Socket Socket) : INoSerializationVerificationNeeded;
    private sealed record ConnectFailed(string Reason) : INoSerializationVerificationNeeded;
    private sealed record AgentEnded : INoSerializationVerificationNeeded;

    public SshAgentConnection(string connection, string socketPath, IActorRef peer)
    {
        _connection = connection;
        _socketPath = socketPath;
        _peer = peer;
        Receive<Connected>(c =>
        {
            _socket = c.Socket;
            _peer.Tell(new SshConnectionOpened { Connection = _connection }, Self);
            var self = Self;
            _ = PumpAsync(c.Socket, self, _stop.Token);
            Become(Open);
        });
        Receive<ConnectFailed>(f => Close(f.Reason));
        Receive<SshConnectionClosed>(_ => PeerClosed());
        Receive<Terminated>(_ => PeerClosed());
    }

    private void Open()
    {
        // in order, one at a time: the mailbox waits while a frame is written, so frames never interleave
        ReceiveAsync<SshConnectionData>(async frame =>
        {
            try
            {
                var data = frame.Data.Memory;
                while (!data.IsEmpty)
                {
                    var sent = await _socket!.SendAsync(data, SocketFlags.None, _stop.Token);
                    data = data[sent..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                Close("the ssh agent closed the connection");
            }
        });
        Receive<AgentEnded>(_ => Close(""));
        Receive<SshConnectionClosed>(_ => PeerClosed());
        Receive<Terminated>(_ => PeerClosed());
    }

    protected override void PreStart()
    {
        Context.Watch(_peer);
        ConnectAsync(_socketPath, _stop.Token).PipeTo(Self);
    }

    private static async Task<object> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            cancellationToken.ThrowIfCancellationRequested(); // stopped meanwhile: nobody would close this socket
            return new Connected(socket);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return new ConnectFailed($"the build's ssh agent does not answer: {e.Message}");
        }
    }

    /// <summary>Agent → peer, until the agent closes (or the actor stops).</summary>
    private async Task PumpAsync(Socket socket, IActorRef self, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkBytes];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0) break;
                _peer.Tell(new SshConnectionData { Connection = _connection, Data = ByteString.CopyFrom(buffer, 0, read) }, self);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // the agent went away, or this end stopped
        }
        if (!cancellationToken.IsCancellationRequested) self.Tell(new AgentEnded());
    }

    private void Close(string error)
    {
        _peer.Tell(new SshConnectionClosed { Connection = _connection, Error = error }, Self);
        _peerKnowsClosed = true;
        Context.Stop(Self);
    }

    private void PeerClosed()
    {
        _peerKnowsClosed = true;
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        // the build ended (its provider stopped): the worker's end must hear it
        if (!_peerKnowsClosed) _peer.Tell(new SshConnectionClosed { Connection = _connection, Error = "the build ended" }, Self);
        _stop.Cancel();
        _socket?.Dispose();
        _stop.Dispose();
    }

    public static Props Props(string connection, string socketPath, IActorRef peer) =>
        Akka.Actor.Props.Create(() => new SshAgentConnection(connection, socketPath, peer));
}
