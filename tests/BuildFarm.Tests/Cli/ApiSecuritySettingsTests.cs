using System.Collections;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;
using BuildFarm.Cli.Hosting;
using BuildFarm.Cli.Remote;

namespace BuildFarm.Tests.Cli;

public sealed class ApiSecuritySettingsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("bf-api-settings-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private CliEnvironment Environment(params (string Name, string Value)[] variables)
    {
        var table = new Hashtable { ["BUILDFARM_HOME"] = _home };
        foreach (var (name, value) in variables) table[name] = value;
        return CliEnvironment.From(table);
    }

    [Fact]
    public void The_tokens_file_comes_from_BUILDFARM_TOKENS_or_farm_json_relative_to_it()
    {
        File.WriteAllText(Path.Combine(_home, "tokens"), "");
        File.WriteAllText(Path.Combine(_home, "farm.json"), """{ "tokens": "tokens" }""");

        var fromFile = FarmSettingsLoader.Load(Environment(), HostRole.Coordinator, new Dictionary<string, string>(), null);
        var fromVariable = FarmSettingsLoader.Load(Environment(("BUILDFARM_TOKENS", Path.Combine(_home, "tokens"))), HostRole.Coordinator,
            new Dictionary<string, string>(), null);

        Assert.Equal(Path.Combine(_home, "tokens"), fromFile.TokensFile);
        Assert.Equal(Path.Combine(_home, "tokens"), fromVariable.TokensFile);
    }

    [Theory]
    [InlineData("tokens", "/no/such/tokens", "--tokens /no/such/tokens: no such file")]
    [InlineData("tls-cert", "/no/such/cert.pem", "--tls-cert /no/such/cert.pem: no such file")]
    public void A_missing_file_is_refused_naming_the_flag(string key, string value, string expected)
    {
        var e = Assert.Throws<SettingsException>(() =>
            FarmSettingsLoader.Load(Environment(), HostRole.Coordinator, new Dictionary<string, string> { [key] = value }, null));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void A_pem_certificate_without_its_key_is_refused()
    {
        var cert = Path.Combine(_home, "server.pem");
        File.WriteAllText(cert, "");

        var e = Assert.Throws<SettingsException>(() =>
            FarmSettingsLoader.Load(Environment(), HostRole.Coordinator, new Dictionary<string, string> { ["tls-cert"] = cert }, null));
        Assert.Equal($"--tls-cert {cert}: a PEM certificate needs its key (--tls-key FILE); or give a .p12/.pfx file", e.Message);
    }

    [Fact]
    public void The_client_config_file_gives_the_token_and_a_ca_relative_to_it()
    {
        var path = Path.Combine(_home, "config.json");
        File.WriteAllText(path, """{ "token": "t-0123456789abcdef", "tlscacert": "ca.pem" }""");

        Assert.Equal(new ClientConfig("t-0123456789abcdef", Path.Combine(_home, "ca.pem")), ClientConfig.Load(path));
    }

    [Fact]
    public void An_unknown_key_in_the_client_config_file_is_refused_naming_it()
    {
        var path = Path.Combine(_home, "config.json");
        File.WriteAllText(path, """{ "tokn": "x" }""");

        var e = Assert.Throws<UsageException>(() => ClientConfig.Load(path));
        Assert.Equal($"{path}: unknown key \"tokn\" (known: token, tlscacert)", e.Message);
    }

    private string Pkcs12(string password)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=api", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_home, "api.p12");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    [Fact]
    public void A_pkcs12_certificate_opens_with_BUILDFARM_TLS_CERT_PASSWORD()
    {
        var path = Pkcs12("s3cret");
        var settings = FarmSettingsLoader.Load(Environment(), HostRole.Coordinator, new Dictionary<string, string> { ["tls-cert"] = path }, null);

        var security = ApiSecurity.Load(settings, Environment(("BUILDFARM_TLS_CERT_PASSWORD", "s3cret")));

        Assert.True(security.Certificate!.HasPrivateKey);
        Assert.Equal("auth open tls on", security.ReadyWords);
    }

    [Fact]
    public void A_pkcs12_certificate_with_the_wrong_password_is_refused_naming_it()
    {
        var path = Pkcs12("s3cret");
        var settings = FarmSettingsLoader.Load(Environment(), HostRole.Coordinator, new Dictionary<string, string> { ["tls-cert"] = path }, null);

        var e = Assert.Throws<SettingsException>(() => ApiSecurity.Load(settings, Environment(("BUILDFARM_TLS_CERT_PASSWORD", "wrong"))));

        Assert.StartsWith($"--tls-cert {path}: cannot load the certificate: ", e.Message);
    }
}
