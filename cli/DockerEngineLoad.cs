using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace BuildFarm.Cli;

/// <summary>
/// <c>--load</c>: hands a Docker archive to a running docker daemon the way <c>docker load</c> does, through the Engine
/// API (<c>POST /images/load</c>) on <c>DOCKER_HOST</c> (unix:// or tcp://), else <c>/var/run/docker.sock</c>.
/// </summary>
public sealed class DockerEngineLoad(string host)
{
    public const string DefaultSocket = "/var/run/docker.sock";

    /// <summary>Where the daemon is, or null when none is configured or the default socket is absent.</summary>
    public string Host { get; } = host;

    public static DockerEngineLoad? Locate(CliEnvironment environment)
    {
        if (environment.Variable("DOCKER_HOST") is { Length: > 0 } host) return new DockerEngineLoad(host);
        return File.Exists(DefaultSocket) ? new DockerEngineLoad("unix://" + DefaultSocket) : null;
    }

    public async Task LoadAsync(string archive, CancellationToken cancellationToken)
    {
        using var http = CreateClient();
        await using var body = File.OpenRead(archive);
        using var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync("/images/load?quiet=1", content, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"--load: cannot reach the docker daemon at {Host}: {e.Message}", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"--load: the docker daemon at {Host} answered {(int)response.StatusCode}: {Message(text) ?? text.Trim()}");
            // A 200 can still carry an error in the JSON message stream (docker load reports it this way).
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (ErrorOf(line) is { } error)
                    throw new InvalidOperationException($"--load: the docker daemon at {Host}: {error}");
        }
    }

    private HttpClient CreateClient()
    {
        if (Host.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = Host["unix://".Length..];
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            return new HttpClient(handler) { BaseAddress = new Uri("http://docker"), Timeout = TimeSpan.FromMinutes(30) };
        }
        if (Host.StartsWith("tcp://", StringComparison.Ordinal))
            return new HttpClient { BaseAddress = new Uri("http://" + Host["tcp://".Length..]), Timeout = TimeSpan.FromMinutes(30) };
        throw new InvalidOperationException($"--load: DOCKER_HOST={Host} is not supported (unix:///path or tcp://host:port)");
    }

    private static string? Message(string json)
    {
        try { return JsonDocument.Parse(json).RootElement.GetProperty("message").GetString(); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { return null; }
    }

    private static string? ErrorOf(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}
