using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP proxy on loopback in front of a test registry that spoils the next queued connections (reset, 503, 429)
/// and forwards every other connection untouched, to exercise a client's retries against a real server.
/// </summary>
public sealed class RegistryFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<RegistryFault> _faults = new();
    private readonly Task _loop;

    public RegistryFaultProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";
    public int FaultsRemaining => _faults.Count;

    /// <summary>Bytes the registry sent to clients (downloads) and clients sent to it (uploads), headers included.</summary>
    public long BytesToClients => Interlocked.Read(ref _bytesToClients);
    public long BytesFromClients => Interlocked.Read(ref _bytesFromClients);
    private long _bytesToClients;
    private long _bytesFromClients;

    /// <summary>The most client connections forwarded at one moment: a client fetching one blob after another on a
    /// kept-alive connection never needs a second one.</summary>
    public int PeakConnections => Volatile.Read(ref _peakConnections);
    private int _openConnections;
    private int _peakConnections;

    /// <summary>Spoils the next connections, in order.</summary>
    public void Enqueue(params RegistryFault[] faults)
    {
        foreach (var fault in faults) _faults.Enqueue(fault);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        var counted = false;
        try
        {
            if (_faults.TryDequeue(out var fault))
            {
                await ReadRequestHeadAsync(client);
                if (fault == RegistryFault.ConnectionReset)
                {
                    client.LingerState = new LingerOption(true, 0); // close with RST
                    client.Close();
                    return;
                }
                var (status, body) = fault switch
                {
                    RegistryFault.ServiceUnavailable => ("503 Service Unavailable", ""),
                    RegistryFault.TooManyRequests => ("429 Too Many Requests", """{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"""),
                    _ => ("403 Forbidden", """{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"""),
                };
                var response = $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}";
                await client.SendAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
                client.Shutdown(SocketShutdown.Both);
                client.Close();
                return;
            }
            var open = Interlocked.Increment(ref _openConnections);
            for (var peak = _peakConnections; open > peak; peak = _peakConnections)
                if (Interlocked.CompareExchange(ref _peakConnections, open, peak) == peak) break;
            counted = true;
            using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
            await using var a = new NetworkStream(client, ownsSocket: true);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            var up = CopyCountingAsync(a, b, bytes => Interlocked.Add(ref _bytesFromClients, bytes));
            var down = CopyCountingAsync(b, a, bytes => Interlocked.Add(ref _bytesToClients, bytes));
            await Task.WhenAny(up, down);
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        catch (IOException) { }
        catch (SocketException) { }
        finally
        {
            if (counted) Interlocked.Decrement(ref _openConnections);
            client.Dispose();
        }
    }

    private async Task CopyCountingAsync(Stream from, Stream to, Action<long> count)
    {
        var buffer = new byte[81920];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            count(n);
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }

    private async Task ReadRequestHeadAsync(Socket client)
    {
        var buffer = new byte[8192];
        var seen = new StringBuilder();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0) return;
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
