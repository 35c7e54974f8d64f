using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>pull</c> and <c>push</c> against a real docker-registry on loopback, bytes counted by a proxy in front of it.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class PullPushTests(BusyboxFixture busybox, ITestOutputHelper output) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private static async Task<BuildFarmCli.Result> MustAsync(BuildFarmCli cli, params string[] args)
    {
        var result = await cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"buildfarm {string.Join(' ', args)}: {result}");
        return result;
    }

    private BuildFarmCli FreshCli(string name) => new(Path.Combine(_scratch.Root, name));

    /// <summary>base:1 (busybox) and app:1 (busybox + one small layer) built in the scratch home.</summary>
    private async Task BuildBaseAndAppAsync()
    {
        var based = _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\nCMD [\"sh\"]\n");
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", "base:1", based)).ExitCode);
        var app = _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\nRUN echo app > /app\nCMD [\"cat\", \"/app\"]\n");
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", "app:1", app)).ExitCode);
    }

    private static long RepositorySize(RegistryFixture registry) =>
        Directory.EnumerateFiles(Path.Combine(registry.StorageDirectory, "docker", "registry", "v2", "blobs"), "data", SearchOption.AllDirectories)
            .Max(f => new FileInfo(f).Length);

    [Fact]
    public async Task Pull_of_an_image_whose_base_is_present_downloads_only_the_new_layer()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await BuildBaseAndAppAsync();
        await MustAsync(_scratch.Cli, "tag", "base:1", $"{registry.Host}/farm/base:1");
        await MustAsync(_scratch.Cli, "tag", "app:1", $"{registry.Host}/farm/app:1");
        await MustAsync(_scratch.Cli, "push", $"{registry.Host}/farm/base:1");
        await MustAsync(_scratch.Cli, "push", $"{registry.Host}/farm/app:1");

        await using var proxy = new RegistryFaultProxy(registry.Port);
        var cli = FreshCli("puller");
        var first = await MustAsync(cli, "pull", $"{proxy.Host}/farm/base:1");
        Assert.Contains("Pull complete", first.Stdout);
        var baseBytes = proxy.BytesToClients;
        Assert.True(baseBytes > RepositorySize(registry), $"the base pull received {baseBytes} bytes");

        var second = await MustAsync(cli, "pull", $"{proxy.Host}/farm/app:1");
        var appBytes = proxy.BytesToClients - baseBytes;
        Assert.Single(second.Stdout.Split('\n'), l => l.EndsWith(": Already exists", StringComparison.Ordinal));
        Assert.Single(second.Stdout.Split('\n'), l => l.EndsWith(": Pull complete", StringComparison.Ordinal));
        output.WriteLine($"pull: base {baseBytes} bytes received, app on the same base {appBytes} bytes");
        Assert.True(appBytes < 20_000, $"the app pull received {appBytes} bytes; the busybox layer alone is {RepositorySize(registry)}");
        Assert.Equal("app", (await MustAsync(cli, "run", $"{proxy.Host}/farm/app:1")).Stdout.Trim());
    }

    [Fact]
    public async Task Push_of_an_image_whose_base_the_registry_has_uploads_only_the_new_layer()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await using var proxy = new RegistryFaultProxy(registry.Port);
        await BuildBaseAndAppAsync();
        await MustAsync(_scratch.Cli, "tag", "base:1", $"{proxy.Host}/farm/app:base");
        await MustAsync(_scratch.Cli, "push", $"{proxy.Host}/farm/app:base");
        var baseBytes = proxy.BytesFromClients;
        Assert.True(baseBytes > 500_000, $"the base push sent {baseBytes} bytes");

        await MustAsync(_scratch.Cli, "tag", "app:1", $"{proxy.Host}/farm/app:1");
        var push = await MustAsync(_scratch.Cli, "push", $"{proxy.Host}/farm/app:1");
        var appBytes = proxy.BytesFromClients - baseBytes;
        Assert.Single(push.Stdout.Split('\n'), l => l.EndsWith(": Layer already exists", StringComparison.Ordinal));
        Assert.Single(push.Stdout.Split('\n'), l => l.EndsWith(": Pushed", StringComparison.Ordinal));
        output.WriteLine($"push: base {baseBytes} bytes sent, app on the same base {appBytes} bytes");
        Assert.True(appBytes < 20_000, $"the app push sent {appBytes} bytes");

        // The digest printed is the one the registry serves.
        var printed = push.Stdout.Split('\n').Single(l => l.Contains(" digest: ")).Split(' ')[2];
        using var inspect = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{registry.Host}/farm/app:1"));
        Assert.Equal(inspect.RootElement.GetProperty("Digest").GetString(), printed);
    }

    [Fact]
    public async Task Push_to_a_new_repository_mounts_layers_from_the_repository_they_were_pulled_from()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await BuildBaseAndAppAsync();
        await MustAsync(_scratch.Cli, "tag", "base:1", $"{registry.Host}/library/base:1");
        await MustAsync(_scratch.Cli, "push", $"{registry.Host}/library/base:1");

        var cli = FreshCli("mounter");
        await MustAsync(cli, "pull", $"{registry.Host}/library/base:1");
        await MustAsync(cli, "tag", $"{registry.Host}/library/base:1", $"{registry.Host}/team/copy:1");
        var push = await MustAsync(cli, "push", $"{registry.Host}/team/copy:1");
        Assert.Contains(": Mounted from library/base", push.Stdout);
        Assert.DoesNotContain(": Pushed", push.Stdout);
    }

    [Fact]
    public async Task Pull_by_digest_names_the_image_by_digest_and_an_unknown_digest_is_a_clear_error()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await BuildBaseAndAppAsync();
        await MustAsync(_scratch.Cli, "tag", "app:1", $"{registry.Host}/farm/app:1");
        var push = await MustAsync(_scratch.Cli, "push", "-q", $"{registry.Host}/farm/app:1");
        var digest = push.Stdout.Trim();
        Assert.Matches("^sha256:[0-9a-f]{64}$", digest);

        var cli = FreshCli("bydigest");
        var pulled = await MustAsync(cli, "pull", $"{registry.Host}/farm/app@{digest}");
        Assert.Contains($"Digest: {digest}", pulled.Stdout);
        Assert.Contains("<none>", (await MustAsync(cli, "images")).Stdout);
        var repoDigests = (await MustAsync(cli, "inspect", "--format", "{{json .RepoDigests}}", $"{registry.Host}/farm/app@{digest}")).Stdout.Trim();
        Assert.Equal($"[\"{registry.Host}/farm/app@{digest}\"]", repoDigests);

        var missing = await cli.RunAsync("pull", $"{registry.Host}/farm/app@sha256:{new string('0', 64)}");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("sha256:" + new string('0', 64), missing.Stderr);
        Assert.DoesNotContain("   at ", missing.Stderr);
    }

    [Fact]
    public async Task History_of_a_pulled_image_shows_missing_for_layers_made_elsewhere()
    {
        await using var registry = await RegistryFixture.StartAsync();
        await BuildBaseAndAppAsync();
        await MustAsync(_scratch.Cli, "tag", "app:1", $"{registry.Host}/farm/app:1");
        await MustAsync(_scratch.Cli, "push", $"{registry.Host}/farm/app:1");
        var here = (await MustAsync(_scratch.Cli, "history", "app:1")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];

        var cli = FreshCli("historian");
        await MustAsync(cli, "pull", $"{registry.Host}/farm/app:1");
        var there = (await MustAsync(cli, "history", $"{registry.Host}/farm/app:1")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(here.Length, there.Length);
        Assert.All(there, l => Assert.StartsWith("<missing>", l));
        Assert.Matches("^[0-9a-f]{12} ", here[^1]); // the ADD layer, made in the first home
    }

    [Fact]
    public async Task Pull_by_digest_refuses_a_manifest_whose_bytes_do_not_hash_to_it()
    {
        // A registry that answers a digest with other bytes (a corrupted or lying mirror).
        var body = System.Text.Encoding.UTF8.GetBytes("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2},"layers":[]}
            """);
        var asked = "sha256:" + new string('b', 64);
        using var server = new BuildFarm.IntegrationTests.Worker.LocalHttpServer(new Dictionary<string, byte[]>
        {
            ["v2/"] = "{}"u8.ToArray(),
            [$"v2/farm/app/manifests/{asked}"] = body,
        }, DateTimeOffset.UtcNow);
        var host = new Uri(server.BaseUrl).Authority;
        var pull = await _scratch.Cli.RunAsync("pull", $"{host}/farm/app@{asked}");
        Assert.Equal(1, pull.ExitCode);
        Assert.Contains(asked, pull.Stderr);
        Assert.Matches("(?i)digest|mismatch", pull.Stderr);
        Assert.DoesNotContain("app", (await MustAsync(_scratch.Cli, "images")).Stdout);
    }
}
