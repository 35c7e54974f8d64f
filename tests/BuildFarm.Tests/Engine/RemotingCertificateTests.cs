using BuildFarm.Coordinator.Engine;

namespace BuildFarm.Tests.Engine;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RemotingCertificateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bfcert").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_home_certificate_is_made_once_owner_only_and_reused()
    {
        var path = Path.Combine(_root, "home", "remoting.p12");

        using var first = RemotingCertificate.LoadOrCreate(path);
        using var second = RemotingCertificate.LoadOrCreate(path);

        Assert.True(first.HasPrivateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(RemotingTls.Pin(first), RemotingTls.Pin(second));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left behind
    }

    [Fact]
    public void A_certificate_file_other_users_can_read_is_refused_naming_it()
    {
        var path = Path.Combine(_root, "remoting.p12");
        RemotingCertificate.LoadOrCreate(path).Dispose();
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var e = Assert.Throws<UnauthorizedAccessException>(() => RemotingCertificate.LoadOrCreate(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("644", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_certificate_is_refused_naming_it()
    {
        var path = Path.Combine(_root, "remoting.p12");
        File.WriteAllText(path, "not a certificate");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var e = Assert.Throws<InvalidDataException>(() => RemotingCertificate.LoadOrCreate(path));
        Assert.Contains(path, e.Message);
    }
}
