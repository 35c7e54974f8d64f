using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The remoting certificate of one state folder: made once (self-signed, ECDSA P-256, private key included), kept as
/// a PKCS#12 file of mode 0600 and reused by every later process, so that an embedded build pays a file read, not a key
/// generation. A file that others may read is refused: its key can no longer be taken as this user's alone.
/// </summary>
public static class RemotingCertificate
{
    public const string SubjectName = "CN=buildfarm-remoting";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static X509Certificate2 LoadOrCreate(string path)
    {
        if (!File.Exists(path))
            Create(path);
        return Load(path);
    }

    /// <summary>Loads a PKCS#12 file (with its private key) that a farm's operator configured, or a per-home one.</summary>
    public static X509Certificate2 Load(string path, string? password = null)
    {
        var mode = OperatingSystem.IsWindows() ? OwnerOnly : File.GetUnixFileMode(path);
        if ((mode & ~OwnerOnly & ~UnixFileMode.UserExecute) != 0)
            throw new UnauthorizedAccessException(
                $"remoting certificate {path} is readable or writable by other users (mode {Convert.ToString((int)mode, 8)}): chmod 600 it, or remove it to make a new one");
        X509Certificate2 certificate;
        try { certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet); }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"remoting certificate {path} is not a PKCS#12 file with its key ({e.Message}): remove it to make a new one", e);
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidDataException($"remoting certificate {path} has no private key: remove it to make a new one");
        }
        return certificate;
    }

    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
        var pfx = certificate.Export(X509ContentType.Pkcs12);

        // Written under a temporary name with 0600 from the start, then moved into place: a concurrent process either
        // sees no file or a whole one; if two race, the first move wins and both use its certificate.
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = OwnerOnly;
            using (var stream = new FileStream(temporary, create))
            {
                stream.Write(pfx);
                stream.Flush(flushToDisk: true);
            }
            try { File.Move(temporary, path, overwrite: false); }
            catch (IOException) when (File.Exists(path)) { } // another process made it first
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
