using System.Text;
using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Builds that push to and pull from a real docker-registry on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RegistryTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private void UseCredentials(string host, string username, string password)
    {
        var dir = Path.Combine(_scratch.Root, "docker-config");
        Directory.CreateDirectory(dir);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["auths"] = new System.Text.Json.Nodes.JsonObject { [host] = new System.Text.Json.Nodes.JsonObject { ["auth"] = auth } },
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        _scratch.Cli.Environment["DOCKER_CONFIG"] = dir;
    }

    [Fact]
    public async Task Push_to_a_local_registry_and_skopeo_copy_back_gives_the_same_digest()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var context = _scratch.CopyExample();
        var iid = Path.Combine(_scratch.Root, "iid");
        var name = $"{registry.Host}/farm/hello:1";
        var build = await _scratch.Cli.BuildAsync("-t", name, "-t", $"{registry.Host}/farm/hello:latest", "--push", "--iidfile", iid, context);
        Assert.True(build.ExitCode == 0, build.ToString());
        var digest = await File.ReadAllTextAsync(iid);

        var copy = Path.Combine(_scratch.Root, "copied");
        await BuildFarmCli.ToolAsync("skopeo", "copy", "--src-tls-verify=false", $"docker://{name}", $"oci:{copy}:copied");
        using var index = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(copy, "index.json")));
        Assert.Equal(digest, index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString());
        using var latest = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{registry.Host}/farm/hello:latest"));
        Assert.Equal(digest, latest.RootElement.GetProperty("Digest").GetString());
    }

    [Fact]
    public async Task A_pushing_build_uploads_finished_layers_while_a_later_step_still_runs()
    {
        await using var registry = await RegistryFixture.StartAsync();
        // The last step sleeps with an argument nothing else uses, so its process tells that the step still runs.
        const string Wait = "6.4321";
        var context = _scratch.Context("prepush", $"FROM scratch\nADD rootfs.tar /\nRUN echo early > /early\nRUN sleep {Wait} && echo late > /late\n");
        var layers = Path.Combine(registry.StorageDirectory, "docker", "registry", "v2", "repositories", "farm", "prepush", "_layers", "sha256");
        using var build = _scratch.Cli.Start("build", "--progress", "plain", "-t", $"{registry.Host}/farm/prepush:1", "--push", context);
        var output = Task.WhenAll(build.StandardOutput.ReadToEndAsync(), build.StandardError.ReadToEndAsync());

        var seenWhileSleeping = 0;
        while (!build.HasExited)
        {
            var uploaded = Directory.Exists(layers) ? Directory.GetDirectories(layers).Length : 0;
            if (uploaded > 0 && SleepRuns(Wait)) seenWhileSleeping = Math.Max(seenWhileSleeping, uploaded);
            await Task.Delay(50);
        }
        await build.WaitForExitAsync();
        var printed = await output;

        Assert.True(build.ExitCode == 0, string.Join("\n", printed));
        Assert.Equal(2, seenWhileSleeping); // ADD's and the first RUN's layers, before the last step ended
        var pushed = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{registry.Host}/farm/prepush:1");
        Assert.Equal(3, JsonDocument.Parse(pushed).RootElement.GetProperty("Layers").GetArrayLength());
    }

    private static bool SleepRuns(string argument) =>
        Directory.EnumerateDirectories("/proc").Any(dir =>
        {
            try { return File.ReadAllText(Path.Combine(dir, "cmdline")) == $"sleep\0{argument}\0"; }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });

    [Fact]
    public async Task A_base_image_pulled_with_basic_auth_builds_and_a_wrong_password_is_a_clear_error()
    {
        await using var registry = await RegistryFixture.StartAsync("farmer", "correct-horse");
        UseCredentials(registry.Host, "farmer", "correct-horse");
        var baseContext = _scratch.Context("base", """
            FROM scratch
            ADD rootfs.tar /
            CMD ["sh"]
            """);
        var pushed = await _scratch.Cli.BuildAsync("-t", $"{registry.Host}/base/busybox:1", "--push", baseContext);
        Assert.True(pushed.ExitCode == 0, pushed.ToString());

        // A fresh home: the base must come from the registry, not from the store the push used.
        var cli = new BuildFarmCli(Path.Combine(_scratch.Root, "home2"));
        foreach (var (k, v) in _scratch.Cli.Environment) cli.Environment[k] = v;
        var app = _scratch.Context("app", $"""
            FROM {registry.Host}/base/busybox:1
            RUN echo "built on the pulled base" > /msg
            CMD ["cat", "/msg"]
            """);
        var build = await cli.BuildAsync("-t", "app", app);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains($"load metadata for {registry.Host}/base/busybox:1@sha256:", build.Stderr);
        Assert.Contains("built on the pulled base", (await cli.RunAsync("run", "app")).Stdout);

        UseCredentials(registry.Host, "farmer", "wrong-password");
        var denied = new BuildFarmCli(Path.Combine(_scratch.Root, "home3"));
        foreach (var (k, v) in _scratch.Cli.Environment) denied.Environment[k] = v;
        var failed = await denied.BuildAsync("-t", "app", app);
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains(registry.Host, failed.Stderr);
        Assert.Matches("(?i)unauthorized|authentication|credentials", failed.Stderr);
        Assert.DoesNotContain("Unhandled exception", failed.Stderr);
        Assert.DoesNotContain("wrong-password", failed.Stderr + failed.Stdout);
        Console.WriteLine("wrong password is reported as: " + failed.Stderr.Trim().Split('\n')[^1]);
    }
}
