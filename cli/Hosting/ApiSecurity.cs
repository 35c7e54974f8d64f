using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BuildFarm.Coordinator.Api.Identity;
using Microsoft.Extensions.Logging;

namespace BuildFarm.Cli.Hosting;

/// <summary>What guards a coordinator's Build API: its tokens file (null: open) and its TLS certificate (null: plain
/// HTTP/2), both read and checked before the host listens, so a bad file is one line naming it, not a failed call later.</summary>
public sealed class ApiSecurity
{
    private ApiSecurity(string? tokensFile, X509Certificate2? certificate)
    {
        TokensFile = tokensFile;
        Certificate = certificate;
    }

    public string? TokensFile { get; }
    public X509Certificate2? Certificate { get; }

    /// <summary>The ready line's words: <c>auth tokens|open tls on|off</c>.</summary>
    public string ReadyWords => $"auth {(TokensFile is null ? "open" : "tokens")} tls {(Certificate is null ? "off" : "on")}";

    public static ApiSecurity Load(FarmSettings settings, CliEnvironment environment)
    {
        if (settings.TokensFile is { } tokens)
        {
            try { TokenFile.Open(tokens, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance); }
            catch (TokenTableException e) { throw new SettingsException("--tokens " + e.Message); }
            // As ssh does with a private key: a tokens file others can read is worth saying so, once, at start.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(tokens) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
                Console.Error.WriteLine($"WARNING: --tokens {tokens}: other users can read it (chmod 600)");
        }
        return new ApiSecurity(settings.TokensFile, settings.TlsCertificate is { } cert ? LoadCertificate(cert, settings.TlsKey, environment) : null);
    }

    /// <summary>The interceptor of the Build API, its tokens file logging reloads through the host's logger.</summary>
    public TokenInterceptor Interceptor(ILoggerFactory loggers) =>
        new(TokensFile is null ? null : TokenFile.Open(TokensFile, loggers.CreateLogger<TokenFile>()));

    private static X509Certificate2 LoadCertificate(string certificate, string? key, CliEnvironment environment)
    {
        try
        {
            var loaded = FarmSettingsLoader.IsPkcs12(certificate)
                ? X509CertificateLoader.LoadPkcs12FromFile(certificate, environment.TlsCertificatePassword)
                : X509Certificate2.CreateFromPemFile(certificate, key);
            if (!loaded.HasPrivateKey) throw new SettingsException($"--tls-cert {certificate}: the certificate has no private key");
            return loaded;
        }
        catch (CryptographicException e)
        {
            throw new SettingsException($"--tls-cert {certificate}{(key is null ? "" : $" --tls-key {key}")}: cannot load the certificate: {e.Message}");
        }
    }
}
