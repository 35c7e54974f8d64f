using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// Mutual TLS for the engine's remoting: this node presents <see cref="Certificate"/> and accepts a peer only when the
/// peer's certificate is one of <see cref="TrustedCertificates"/> (pinned by SHA-256 of the certificate, so a
/// self-signed per-home certificate needs no CA). A local user without the private key can neither join nor send.
/// </summary>
public sealed record RemotingTls(X509Certificate2 Certificate, IReadOnlyList<string> TrustedCertificates)
{
    /// <summary>Trusts exactly its own certificate: the embedded engine, or a farm whose nodes share one certificate.</summary>
    public static RemotingTls SelfTrusting(X509Certificate2 certificate) => new(certificate, [Pin(certificate)]);

    /// <summary>The pin of a certificate: hex SHA-256 of its DER encoding.</summary>
    public static string Pin(X509Certificate certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    public bool Trusts(X509Certificate? peer) => peer is not null && TrustedCertificates.Contains(Pin(peer), StringComparer.OrdinalIgnoreCase);
}
