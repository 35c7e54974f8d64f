using System.Net.Sockets;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The server's side of <c>--ssh</c> through a Build call: one agent socket per ssh id in a private folder (0700) on this
/// host, whose connections go to the client as <see cref="SshFrame"/>s on the call's response stream. The build's RUN steps
/// reach these sockets as they reach an embedded build's agents (StartBuild.ssh_sockets). Gone with the call.
/// </summary>
public sealed class SshStreamForwarder : IAsyncDisposable
{
    private readonly string _directory;
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _accepting = [];
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly Func<SshFrame, CancellationToken, Task> _send;
    private long _nextConnection;

    public SshStreamForwarder(IEnumerable<string> ids, string scratch, Func<SshFrame, CancellationToken, Task> send)
    {
        _send = send;
        Relay = new SshFrameRelay(send);
        Directory.CreateDirectory(scratch);
        _directory = Path.Combine(scratch, "ssh-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        if (!OperatingSystem.IsWindows()) // only this user reaches the agents
            File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var index = 0;
        var sockets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            var path = Path.Combine(_directory, $"agent-{index++}.sock");
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(16);
            _listeners.Add(listener);
            _accepting.Add(AcceptAsync(listener, id, _stop.Token));
            sockets[id] = path;
        }
        Sockets = sockets;
    }

    /// <summary>ssh id → this host's socket path for it.</summary>
    public IReadOnlyDictionary<string, string> Sockets { get; }

    public SshFrameRelay Relay { get; }

    private async Task AcceptAsync(Socket listener, string id, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket step;
            try
            {
                step = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var connection = (ulong)Interlocked.Increment(ref _nextConnection);
            try
            {
                // the open frame goes first: the client must know the connection before its first data
                await _send(new SshFrame { Connection = connection, Id = id }, cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or Grpc.Core.RpcException)
            {
                step.Dispose();
                continue;
            }
            Relay.Attach(connection, step);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return; // the owner may end it early and again at scope end
        await _stop.CancelAsync();
        foreach (var listener in _listeners) listener.Dispose();
        await Task.WhenAll(_accepting);
        await Relay.DisposeAsync();
        _stop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
