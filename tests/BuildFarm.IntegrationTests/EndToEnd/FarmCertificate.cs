using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The one remoting certificate of a test farm (BUILDFARM_REMOTING_CERT): PKCS#12 with its key, mode 0600.</summary>
public static class FarmCertificate
{
    public static string Write(string path)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=buildfarm-remoting", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
