using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using BuildFarm.Protos.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli.Remote;

/// <summary>
/// A gRPC channel to a farm: <c>HOST:PORT</c> or <c>http://…</c> is plain HTTP/2, <c>https://…</c> is TLS, checked
/// against <see cref="RemoteEndpointOptions.TlsCaCert"/> when given (else the system's CAs); the token rides on every
/// call as <c>authorization: Bearer …</c>. A refused certificate is remembered so the error line says why.
/// </summary>
public sealed class RemoteEndpoint : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly string? _caFile;
    private string? _tlsFailure;

    public RemoteEndpoint(string server, RemoteEndpointOptions options)
    {
        Server = server;
        _caFile = options.TlsCaCert;
        Uri address;
        // unix:PATH: a local engine's socket (the resident engine, cli/Engine), plain HTTP/2 over it.
        var socket = server.StartsWith(UnixPrefix, StringComparison.Ordinal) ? server[UnixPrefix.Length..] : null;
        try
        {
            address = socket is not null ? Engine.UnixSocketHandler.Address : new Uri(server.Contains("://") ? server : "http://" + server);
        }
        catch (UriFormatException)
        {
            throw new UsageException($"--server {server}: expected HOST:PORT or https://HOST:PORT");
        }
        if (address.Scheme is not ("http" or "https")) throw new UsageException($"--server {server}: expected http:// or https://");
        // Keep-alive pings: a farm that vanishes without a reset (machine lost, network cut) ends the call instead of
        // leaving the client waiting for ever.
        var handler = socket is not null ? Engine.UnixSocketHandler.Create(socket) : new SocketsHttpHandler();
        handler.EnableMultipleHttp2Connections = true;
        handler.KeepAlivePingDelay = TimeSpan.FromSeconds(20);
        handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        if (_caFile is not null)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(_caFile);
            if (authorities.Count == 0) throw new UsageException($"--tlscacert {_caFile}: no PEM certificate in it");
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trust(authorities, certificate, errors);
        }
        if (options.Token is not null && address.Scheme == "http" && !address.IsLoopback)
            Console.Error.WriteLine($"WARNING: the token goes to {address.Host} in clear text over http://; use https:// (--tls-cert on the coordinator)");
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 << 20 });
        var token = options.Token;
        Invoker = token is null
            ? _channel.CreateCallInvoker()
            : _channel.CreateCallInvoker().Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + token);
                return metadata;
            });
        Client = new BuildService.BuildServiceClient(Invoker);
    }

    /// <summary>The prefix of a unix socket address (<c>unix:/path/engine.sock</c>).</summary>
    public const string UnixPrefix = "unix:";

    public string Server { get; }
    public CallInvoker Invoker { get; }
    public BuildService.BuildServiceClient Client { get; }

    /// <summary>The error line for a failed call: TLS refusals say which certificate and CA, the rest the server's words.</summary>
    public string Describe(RpcException e)
    {
        if (_tlsFailure is { } tls) return $"{Server}: TLS: {tls}";
        if (e.StatusCode == StatusCode.Unavailable && e.Status.DebugException?.ToString() is { } debug && debug.Contains("SSL", StringComparison.Ordinal))
            return $"{Server}: TLS: the connection could not be established ({e.Status.DebugException.InnerException?.Message ?? e.Status.DebugException.Message})";
        var what = e.StatusCode switch
        {
            StatusCode.Unavailable => Server.StartsWith(UnixPrefix, StringComparison.Ordinal) ? "no engine answers there: " : "no coordinator answers there: ",
            StatusCode.ResourceExhausted => "the farm is busy: ",
            StatusCode.PermissionDenied => "not allowed: ",
            _ => "",
        };
        // The farm says when to ask again (trailer retry-after, seconds): the line repeats it for a human or a CI log.
        if (e.StatusCode == StatusCode.ResourceExhausted && e.Trailers.GetValue("retry-after") is { } retry
            && !e.Status.Detail.Contains("retry after", StringComparison.Ordinal))
            return $"{Server}: {what}{e.Status.Detail}; retry after {retry} s ({e.StatusCode})";
        return $"{Server}: {what}{e.Status.Detail} ({e.StatusCode})";
    }

    private bool Trust(X509Certificate2Collection authorities, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            _tlsFailure = "the server sent no certificate";
            return false;
        }
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            _tlsFailure = $"the server's certificate ({certificate.Subject}) does not name this host";
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (chain.Build(presented)) return true;
        var why = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
        _tlsFailure = $"the server's certificate ({presented.Subject}) is not signed by a CA in --tlscacert {_caFile} ({why})";
        return false;
    }

    public void Dispose() => _channel.Dispose();
}
