using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A Docker token server (the "realm" of a Bearer challenge) for a test registry: checks Basic credentials on
/// loopback, grants the requested repository actions (anonymous callers get pull only) and returns an RS256 JWT
/// whose x5c certificate the registry trusts through its rootcertbundle.
/// </summary>
public sealed class RegistryTokenServer : IAsyncDisposable
{
    public const string Issuer = "buildfarm-test-issuer";
    public const string Service = "buildfarm-test-registry";

    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly string _username;
    private readonly string _password;

    private RegistryTokenServer(string username, string password)
    {
        _username = username;
        _password = password;
        var request = new CertificateRequest("CN=buildfarm test token signer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Port = FreeTcpPort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }
    public string Realm => $"http://127.0.0.1:{Port}/token";

    /// <summary>PEM of the signing certificate, for the registry's <c>rootcertbundle</c>.</summary>
    public string CertificatePem => _certificate.ExportCertificatePem();

    /// <summary>Every scope asked for, in order (to check what a client requested).</summary>
    public ConcurrentQueue<string> RequestedScopes { get; } = new();

    public static RegistryTokenServer Start(string username, string password) => new(username, password);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().WaitAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            try { Handle(context); }
            catch (Exception e)
            {
                context.Response.StatusCode = 500;
                await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(e.Message));
            }
            finally { context.Response.Close(); }
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var subject = "";
        if (context.Request.Headers["Authorization"] is { } header)
        {
            if (!header.StartsWith("Basic ", StringComparison.Ordinal) || Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])) != $"{_username}:{_password}")
            {
                context.Response.StatusCode = 401;
                return;
            }
            subject = _username;
        }
        var access = new List<object>();
        foreach (var scope in context.Request.QueryString.GetValues("scope") ?? [])
        {
            RequestedScopes.Enqueue(scope);
            var parts = scope.Split(':');
            if (parts.Length < 3 || parts[0] != "repository") continue;
            var actions = parts[^1].Split(',').Where(a => subject.Length > 0 || a == "pull").ToArray();
            access.Add(new { type = "repository", name = string.Join(':', parts[1..^1]), actions });
        }
        var token = Sign(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
            ["nbf"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(),
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        });
        context.Response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new { token, expires_in = 300 });
        context.Response.OutputStream.Write(body);
    }

    private string Sign(Dictionary<string, object> claims)
    {
        var header = new { typ = "JWT", alg = "RS256", x5c = new[] { Convert.ToBase64String(_certificate.RawData) } };
        var signingInput = $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');


    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _loop; } catch (ObjectDisposedException) { }
        _listener.Close();
        _certificate.Dispose();
        _key.Dispose();
        _stop.Dispose();
    }
}
