using System.Net.Sockets;
using System.Text.Json;
using Grpc.Net.Client;

namespace BuildFarm.Client;

/// <summary>
/// The resident engine of a <c>$BUILDFARM_HOME</c>, when one can take this client's build: its <c>engine.json</c>
/// names a socket, its version is this client's, and the socket accepts a connection. That first connection is kept
/// and becomes the gRPC channel's, so asking costs no second connect.
/// </summary>
public sealed class EngineConnection : IDisposable
{
    private Socket? _first;

    private EngineConnection(Socket first, string socketPath)
    {
        _first = first;
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                if (Interlocked.Exchange(ref _first, null) is { } connected) return new NetworkStream(connected, ownsSocket: true);
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The authority is a placeholder: every connection goes to the socket.
        Channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 << 20 });
    }

    public string SocketPath { get; }

    public GrpcChannel Channel { get; }

    /// <summary>The engine to build with, or null (with the reason) when this client must leave the build to the managed CLI.</summary>
    public static EngineConnection? TryOpen(string home, out string why)
    {
        var recordPath = Path.Combine(home, "engine.json");
        EngineRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(File.ReadAllBytes(recordPath), EngineRecordJson.Default.EngineRecord);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            why = $"{recordPath}: {e.Message}";
            return null;
        }
        if (record is not { Pid: > 0, Version: { } version, Socket: { Length: > 0 } socketPath })
        {
            why = $"{recordPath}: not an engine record (pid, version, socket)";
            return null;
        }
        if (version != ClientVersion.Current)
        {
            why = $"{recordPath}: engine version {version}, this client is {ClientVersion.Current}";
            return null;
        }
        socketPath = Path.GetFullPath(socketPath, home);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            socket.Dispose();
            why = $"{socketPath}: {e.Message}";
            return null;
        }
        why = "";
        return new EngineConnection(socket, socketPath);
    }

    public void Dispose()
    {
        Channel.Dispose();
        Interlocked.Exchange(ref _first, null)?.Dispose();
    }
}
