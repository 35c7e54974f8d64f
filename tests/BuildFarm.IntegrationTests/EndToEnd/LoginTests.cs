using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>login</c>/<c>logout</c> against an htpasswd-protected docker-registry; the login is shared with skopeo.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LoginTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string DockerConfig
    {
        get
        {
            var dir = Path.Combine(_scratch.Root, "docker-config");
            _scratch.Cli.Environment["DOCKER_CONFIG"] = dir;
            return dir;
        }
    }

    private async Task<BuildFarmCli.Result> LoginAsync(string host, string user, string password)
    {
        using var process = _scratch.Cli.Start("login", "-u", user, "--password-stdin", host);
        await process.StandardInput.WriteLineAsync(password);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return new BuildFarmCli.Result(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Login_writes_a_config_that_skopeo_uses_to_push_to_an_htpasswd_registry()
    {
        await using var registry = await RegistryFixture.StartAsync("farmer", "correct-horse");
        var config = DockerConfig;
        var archive = Path.Combine(_scratch.Root, "app.tar");
        var context = _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\n");
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-o", $"type=oci,dest={archive}", context)).ExitCode);
        var target = $"docker://{registry.Host}/farm/by-skopeo:1";
        // Without the login the registry refuses skopeo: the login below is what makes the push work.
        await Assert.ThrowsAsync<InvalidOperationException>(() => BuildFarmCli.ToolAsync("skopeo", "copy", "--dest-tls-verify=false",
            "--dest-authfile", "/dev/null", $"oci-archive:{archive}", target));

        var login = await LoginAsync(registry.Host, "farmer", "correct-horse");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Contains("Login Succeeded", login.Stdout);

        await BuildFarmCli.ToolAsync("skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", Path.Combine(config, "config.json"),
            $"oci-archive:{archive}", target);
        var inspect = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", "--authfile", Path.Combine(config, "config.json"), target);
        Assert.Contains("\"Digest\"", inspect);
    }

    [Fact]
    public async Task Buildfarm_pushes_with_its_own_login_and_fails_after_logout()
    {
        await using var registry = await RegistryFixture.StartAsync("farmer", "correct-horse");
        _ = DockerConfig;
        Assert.Equal(0, (await LoginAsync(registry.Host, "farmer", "correct-horse")).ExitCode);
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", $"{registry.Host}/farm/app:1", _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\n"))).ExitCode);
        var push = await _scratch.Cli.RunAsync("push", $"{registry.Host}/farm/app:1");
        Assert.True(push.ExitCode == 0, push.ToString());

        var logout = await _scratch.Cli.RunAsync("logout", registry.Host);
        Assert.Contains($"Removing login credentials for {registry.Host}", logout.Stdout);
        var denied = await _scratch.Cli.RunAsync("push", $"{registry.Host}/farm/app:1");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Matches("(?i)unauthorized|authentication|credentials", denied.Stderr);
    }

    [Fact]
    public async Task Login_with_a_wrong_password_fails_and_stores_nothing()
    {
        await using var registry = await RegistryFixture.StartAsync("farmer", "correct-horse");
        var config = DockerConfig;
        var login = await LoginAsync(registry.Host, "farmer", "wrong");
        Assert.NotEqual(0, login.ExitCode);
        Assert.Contains(registry.Host, login.Stderr);
        Assert.DoesNotContain("Login Succeeded", login.Stdout);
        Assert.False(File.Exists(Path.Combine(config, "config.json")));
    }

    [Fact, System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task With_a_credential_helper_the_secret_goes_to_the_helper_and_not_into_config_json()
    {
        await using var registry = await RegistryFixture.StartAsync("farmer", "correct-horse");
        var config = DockerConfig;
        Directory.CreateDirectory(config);
        await File.WriteAllTextAsync(Path.Combine(config, "config.json"), """{"credsStore":"farmtest"}""");
        // A helper speaking docker's credential-helper protocol, keeping its one secret in a file.
        var helpers = Path.Combine(_scratch.Root, "helpers");
        Directory.CreateDirectory(helpers);
        var secretFile = Path.Combine(helpers, "secret.json");
        var helper = Path.Combine(helpers, "docker-credential-farmtest");
        await File.WriteAllTextAsync(helper, $$"""
            #!/bin/sh
            case "$1" in
              store) cat > {{secretFile}} ;;
              get) cat > /dev/null; [ -f {{secretFile}} ] && cat {{secretFile}} || { echo "credentials not found in native keychain"; exit 1; } ;;
              erase) cat > /dev/null; rm -f {{secretFile}} ;;
            esac
            """);
        File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _scratch.Cli.Environment["PATH"] = $"{helpers}:{Environment.GetEnvironmentVariable("PATH")}";

        Assert.Equal(0, (await LoginAsync(registry.Host, "farmer", "correct-horse")).ExitCode);
        Assert.Contains("correct-horse", await File.ReadAllTextAsync(secretFile));
        Assert.DoesNotContain("auth\"", await File.ReadAllTextAsync(Path.Combine(config, "config.json")));

        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", $"{registry.Host}/farm/app:1", _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\n"))).ExitCode);
        var push = await _scratch.Cli.RunAsync("push", $"{registry.Host}/farm/app:1");
        Assert.True(push.ExitCode == 0, push.ToString());

        Assert.Equal(0, (await _scratch.Cli.RunAsync("logout", registry.Host)).ExitCode);
        Assert.False(File.Exists(secretFile));
    }
}
