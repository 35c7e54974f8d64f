using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Registry logins kept by docker credential helpers (<c>docker-credential-NAME</c> programs on PATH, named by
/// config.json's <c>credHelpers</c> and <c>credsStore</c>), used for a push to an htpasswd registry.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CredentialHelperPushTests(BusyboxFixture busybox, RegistryBasicAuthFixture registry)
    : IClassFixture<RegistryBasicAuthFixture>, IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact, System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_registrys_own_credential_helper_wins_over_the_store_for_a_push()
    {
        var asked = UseHelpers(
            ("farmreg", registry.Username!, registry.Password!),
            ("farmstore", "someone-else", "wrong-password"));
        WriteConfig(new { credsStore = "farmstore", credHelpers = new Dictionary<string, string> { [registry.Host] = "farmreg" } });

        var image = $"{registry.Host}/helpers/app:1";
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", image, _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\n"))).ExitCode);
        var push = await _scratch.Cli.RunAsync("push", image);

        Assert.True(push.ExitCode == 0, push.ToString());
        // The helper was asked for exactly this registry, with docker's protocol (the server URL on stdin).
        Assert.Equal(registry.Host, (await File.ReadAllTextAsync(Path.Combine(asked, "farmreg.asked"))).Trim());
        Assert.False(File.Exists(Path.Combine(asked, "farmstore.asked")), "the store helper was asked although the registry has its own");
    }

    [Fact, System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_store_helper_answers_for_registries_without_their_own_and_a_wrong_answer_fails_the_push()
    {
        var asked = UseHelpers(("farmstore", registry.Username!, "not-" + registry.Password));
        WriteConfig(new { credsStore = "farmstore" });

        var image = $"{registry.Host}/helpers/refused:1";
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", image, _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\n"))).ExitCode);
        var push = await _scratch.Cli.RunAsync("push", image);

        Assert.NotEqual(0, push.ExitCode);
        Assert.Matches("(?i)unauthorized|authentication|credentials", push.Stderr);
        Assert.Equal(registry.Host, (await File.ReadAllTextAsync(Path.Combine(asked, "farmstore.asked"))).Trim());
    }

    /// <summary>Puts helper programs on the command's PATH; each answers <c>get</c> with its user and secret and records
    /// the server it was asked for in NAME.asked.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private string UseHelpers(params (string Name, string User, string Secret)[] helpers)
    {
        var dir = Path.Combine(_scratch.Root, "helpers");
        Directory.CreateDirectory(dir);
        foreach (var (name, user, secret) in helpers)
        {
            var answer = JsonSerializer.Serialize(new { ServerURL = registry.Host, Username = user, Secret = secret });
            var program = Path.Combine(dir, $"docker-credential-{name}");
            File.WriteAllText(program, $"""
                #!/bin/sh
                [ "$1" = get ] || exit 1
                cat > '{dir}/{name}.asked'
                echo '{answer}'
                """);
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _scratch.Cli.Environment["PATH"] = $"{dir}:{Environment.GetEnvironmentVariable("PATH")}";
        return dir;
    }

    private void WriteConfig(object config)
    {
        var dir = Path.Combine(_scratch.Root, "docker-config");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        _scratch.Cli.Environment["DOCKER_CONFIG"] = dir;
    }
}
