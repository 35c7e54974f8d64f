using System.Security.Cryptography;
using System.Text;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A <see cref="RegistryFixture"/> using Bearer-token auth, the scheme of Docker Hub and most public registries:
/// the registry answers 401 with a challenge pointing at <see cref="TokenServer"/>.
/// </summary>
public sealed class RegistryTokenAuthFixture : RegistryFixture
{
    public RegistryTokenAuthFixture() : base("buildfarm", Convert.ToHexString(RandomNumberGenerator.GetBytes(12)))
    {
        TokenServer = RegistryTokenServer.Start(Username!, Password!);
    }

    public RegistryTokenServer TokenServer { get; }

    protected override async Task<string> AuthYamlAsync(CancellationToken cancellationToken)
    {
        var bundle = Path.Combine(WorkDirectory, "token-signer.pem");
        await File.WriteAllTextAsync(bundle, TokenServer.CertificatePem, cancellationToken);
        var yaml = new StringBuilder();
        yaml.AppendLine("auth:");
        yaml.AppendLine("  token:");
        yaml.AppendLine($"    realm: {TokenServer.Realm}");
        yaml.AppendLine($"    service: {RegistryTokenServer.Service}");
        yaml.AppendLine($"    issuer: {RegistryTokenServer.Issuer}");
        yaml.AppendLine($"    rootcertbundle: {bundle}");
        return yaml.ToString();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await TokenServer.DisposeAsync();
    }
}
