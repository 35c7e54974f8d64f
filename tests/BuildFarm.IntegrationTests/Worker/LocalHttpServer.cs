using System.Net;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Serves fixed files over HTTP on 127.0.0.1 at a free port, with a Last-Modified header.</summary>
public sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly IReadOnlyDictionary<string, byte[]> _files;
    private readonly DateTimeOffset _lastModified;
    private readonly Task _loop;

    public LocalHttpServer(IReadOnlyDictionary<string, byte[]> files, DateTimeOffset lastModified)
    {
        _files = files;
        _lastModified = lastModified;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseUrl);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string BaseUrl { get; }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            var path = context.Request.Url!.AbsolutePath.TrimStart('/');
            if (_files.TryGetValue(path, out var body))
            {
                context.Response.StatusCode = 200;
                context.Response.Headers["Last-Modified"] = _lastModified.ToString("R");
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
            }
            else context.Response.StatusCode = 404;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
