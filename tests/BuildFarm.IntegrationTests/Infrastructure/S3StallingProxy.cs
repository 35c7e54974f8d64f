using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>A loopback TCP proxy in front of the S3 server that forwards the first <c>budget</c> bytes clients send
/// and then stalls their uploads (a network that hangs mid-transfer), so a writer can be caught mid-upload for sure.</summary>
public sealed class S3StallingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _pumps = [];
    private readonly int _targetPort;
    private long _budget;
    private readonly Task _accepting;

    public S3StallingProxy(int targetPort, long budget)
    {
        _targetPort = targetPort;
        _budget = budget;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes when the budget is spent and an upload is being held.</summary>
    public Task Stalled => _stalled.Task;

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                lock (_pumps)
                {
                    _pumps.Add(PumpAsync(client.GetStream(), server.GetStream(), limited: true, client, server));
                    _pumps.Add(PumpAsync(server.GetStream(), client.GetStream(), limited: false, client, server));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool limited, TcpClient a, TcpClient b)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, _stop.Token);
                if (n == 0) break;
                if (limited && Interlocked.Add(ref _budget, -n) < 0)
                {
                    _stalled.TrySetResult();
                    await Task.Delay(Timeout.Infinite, _stop.Token); // hold the upload until disposed
                }
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException) { }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] pumps;
        lock (_pumps) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
