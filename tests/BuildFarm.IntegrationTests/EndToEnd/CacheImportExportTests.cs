using System.Text.Json.Nodes;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>--cache-to/--cache-from in BuildKit's cache format: a local folder or a registry warms a fresh home.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CacheImportExportTests(BusyboxFixture busybox) : IDisposable
{
    private const string CacheConfigMediaType = "application/vnd.buildkit.cacheconfig.v0";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string App() => _scratch.Context("app", """
        FROM scratch AS tools
        ADD rootfs.tar /
        RUN echo tool > /tool

        FROM scratch
        ADD rootfs.tar /
        COPY --from=tools /tool /tool
        RUN echo app > /app && cat /tool >> /app
        CMD ["cat", "/app"]
        """);

    private BuildFarmCli FreshHome(string name) => new(Path.Combine(_scratch.Root, name));

    private static async Task<BuildFarmCli.Result> MustBuildAsync(BuildFarmCli cli, params string[] args)
    {
        var result = await cli.BuildAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private string Digest(string metadataFile) => JsonNode.Parse(File.ReadAllText(metadataFile))!["containerimage.digest"]!.GetValue<string>();

    private static JsonObject CacheConfig(string dir)
    {
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "index.json")))!;
        var manifest = index["manifests"]!.AsArray().Single(m => m!["annotations"]?["org.opencontainers.image.ref.name"]?.GetValue<string>() == "latest")!;
        var manifestJson = JsonNode.Parse(File.ReadAllText(BlobPath(dir, manifest["digest"]!.GetValue<string>())))!;
        Assert.Equal(CacheConfigMediaType, manifestJson["config"]!["mediaType"]!.GetValue<string>());
        return JsonNode.Parse(File.ReadAllText(BlobPath(dir, manifestJson["config"]!["digest"]!.GetValue<string>())))!.AsObject();
    }

    private static (int Executed, int Cached) Steps(BuildFarmCli.Result result)
    {
        var match = System.Text.RegularExpressions.Regex.Match(result.Stderr, @"(\d+) steps executed, (\d+) cached");
        Assert.True(match.Success, result.ToString());
        return (int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value));
    }

    private static string BlobPath(string dir, string digest) => Path.Combine(dir, "blobs", "sha256", digest["sha256:".Length..]);

    [Fact]
    public async Task Cache_to_local_warms_a_fresh_home_through_cache_from_and_no_step_executes()
    {
        var app = App();
        var cacheDir = Path.Combine(_scratch.Root, "cache");
        var first = Path.Combine(_scratch.Root, "first.json");
        var built = await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={cacheDir},mode=max", "--metadata-file", first, app);
        Assert.Contains("exporting cache to " + cacheDir, built.Stderr);
        var (executed, cached) = Steps(built);
        Assert.True(executed > 0, built.ToString());

        var fresh = FreshHome("fresh");
        var second = Path.Combine(_scratch.Root, "second.json");
        var warmed = await MustBuildAsync(fresh, "--cache-from", $"type=local,src={cacheDir}", "--metadata-file", second, app);
        Assert.Contains("records imported", warmed.Stderr);
        Assert.Equal((0, executed + cached), Steps(warmed));
        Assert.DoesNotContain("cache miss", warmed.Stderr);
        Assert.Equal(Digest(first), Digest(second));
    }

    [Fact]
    public async Task Imported_records_stay_in_the_store_and_cache_prune_removes_them_like_any_record()
    {
        var app = App();
        var cacheDir = Path.Combine(_scratch.Root, "cache");
        var exported = await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={cacheDir},mode=max", app);
        var total = Steps(exported).Executed + Steps(exported).Cached;

        // The farm's cache is shared: an imported record serves later builds without --cache-from (BuildKit's would not).
        var fresh = FreshHome("fresh");
        await MustBuildAsync(fresh, "--cache-from", $"type=local,src={cacheDir}", app);
        Assert.Equal((0, total), Steps(await MustBuildAsync(fresh, app)));

        // Used a moment ago, so an age limit keeps them; --all removes them, and the steps run again.
        Assert.Contains("removed 0 records", (await fresh.RunAsync("cache", "prune", "--keep-duration", "1h")).Stdout);
        var pruned = await fresh.RunAsync("cache", "prune", "--all", "--grace", "0s");
        Assert.True(pruned.ExitCode == 0, pruned.ToString());
        Assert.Matches(@"removed [1-9]\d* records", pruned.Stdout);
        Assert.Equal((total, 0), Steps(await MustBuildAsync(fresh, app)));
    }

    [Fact]
    public async Task Cache_to_mode_min_exports_the_target_stage_and_max_every_stage()
    {
        var app = App();
        var min = Path.Combine(_scratch.Root, "min");
        var max = Path.Combine(_scratch.Root, "max");
        await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={min}", "--cache-to", $"type=local,dest={max},mode=max", app);

        var minRecords = CacheConfig(min)["records"]!.AsArray();
        var maxRecords = CacheConfig(max)["records"]!.AsArray();
        Assert.Equal(3, minRecords.Count); // the final stage's ADD, COPY --from, RUN
        Assert.Equal(5, maxRecords.Count); // and the tools stage's ADD, RUN
        // Each record links its parent step and names its result's top layer, as BuildKit's records do.
        var layers = CacheConfig(max)["layers"]!.AsArray();
        foreach (var record in maxRecords)
        {
            var top = record!["layers"]![0]!["layer"]!.GetValue<int>();
            Assert.InRange(top, 0, layers.Count - 1);
            Assert.Equal(record["digest"]!.GetValue<string>(), record["buildfarm.record"]!["key"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Cache_to_registry_warms_a_fresh_home_through_cache_from_registry()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var app = App();
        var cacheRef = $"{registry.Host}/farm/app:buildcache";
        await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=registry,ref={cacheRef},mode=max", app);
        var manifest = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", "--raw", $"docker://{cacheRef}"))!;
        Assert.Equal(CacheConfigMediaType, manifest["config"]!["mediaType"]!.GetValue<string>());

        var warmed = await MustBuildAsync(FreshHome("fresh"), "--cache-from", $"type=registry,ref={cacheRef}", app);
        Assert.Equal(0, Steps(warmed).Executed);
        Assert.Contains("records imported", warmed.Stderr);
    }

    [Fact]
    public async Task Cache_from_a_folder_that_is_not_there_warns_and_builds()
    {
        var result = await MustBuildAsync(_scratch.Cli, "--cache-from", $"type=local,src={Path.Combine(_scratch.Root, "nothing")}", App());
        Assert.Contains("WARNING: local cache import at", result.Stderr);
        Assert.True(Steps(result).Executed > 0, result.ToString());
    }

    [Fact]
    public async Task Cache_from_a_damaged_config_fails_naming_the_cache()
    {
        var app = App();
        var cacheDir = Path.Combine(_scratch.Root, "cache");
        await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={cacheDir}", app);
        // A record whose layer index is past the layers: refused by name, nothing half-imported.
        await RewriteConfigAsync(cacheDir, config => config["records"]![0]!["layers"]![0]!["layer"] = 99);

        var result = await FreshHome("fresh").BuildAsync("--cache-from", $"type=local,src={cacheDir}", app);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"failed to import cache: cache {cacheDir}: cache config record 0 names layer 99, outside the", result.Stderr);
    }

    [Fact]
    public async Task Cache_written_by_BuildKit_is_read_with_its_layers_imported_and_BuildKit_reads_ours()
    {
        var docker = new DockerDaemonFixture { BuildxWithContainerdStore = true };
        await docker.InitializeAsync();
        try
        {
            var app = App();
            var theirs = Path.Combine(_scratch.Root, "buildkit-cache");
            await docker.DockerAsync("buildx", "build", "--network", "none", "--cache-to", $"type=local,dest={theirs},mode=max", "-t", "bk:1", app);
            var index = JsonNode.Parse(File.ReadAllText(Path.Combine(theirs, "index.json")))!;
            var cacheManifest = JsonNode.Parse(File.ReadAllText(BlobPath(theirs, index["manifests"]![0]!["digest"]!.GetValue<string>())))!;
            // buildx 0.13's BuildKit writes the older form: an index whose entries are the layers and the cache config
            var layers = cacheManifest["manifests"]!.AsArray().Where(m => m!["mediaType"]!.GetValue<string>() != CacheConfigMediaType)
                .Select(m => m!["digest"]!.GetValue<string>()).ToList();
            Assert.NotEmpty(layers);

            var imported = await MustBuildAsync(_scratch.Cli, "--cache-from", $"type=local,src={theirs}", app);
            Assert.Contains($"importing cache manifest from cache {theirs}: {layers.Count} layers, 0 records imported", imported.Stderr);
            Assert.Contains("records of another builder skipped", imported.Stderr);
            var stored = Directory.EnumerateFiles(_scratch.Home, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet();
            Assert.All(layers, l => Assert.Contains(l["sha256:".Length..], stored));

            var ours = Path.Combine(_scratch.Root, "farm-cache");
            await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={ours},mode=max", app);
            await docker.DockerAsync("buildx", "build", "--network", "none", "--cache-from", $"type=local,src={ours}", "-t", "bk:2", app);
        }
        finally
        {
            await docker.DisposeAsync();
        }
    }

    private static async Task RewriteConfigAsync(string cacheDir, Action<JsonObject> change)
    {
        var config = CacheConfig(cacheDir);
        change(config);
        var bytes = System.Text.Encoding.UTF8.GetBytes(config.ToJsonString());
        var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        await File.WriteAllBytesAsync(BlobPath(cacheDir, digest), bytes);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(cacheDir, "index.json")))!;
        var manifestPath = BlobPath(cacheDir, index["manifests"]![0]!["digest"]!.GetValue<string>());
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["config"]!["digest"] = digest;
        manifest["config"]!["size"] = bytes.Length;
        var manifestBytes = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var manifestDigest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifestBytes));
        await File.WriteAllBytesAsync(BlobPath(cacheDir, manifestDigest), manifestBytes);
        index["manifests"]![0]!["digest"] = manifestDigest;
        index["manifests"]![0]!["size"] = manifestBytes.Length;
        await File.WriteAllTextAsync(Path.Combine(cacheDir, "index.json"), index.ToJsonString());
    }

    [Fact]
    public async Task Cache_from_a_record_whose_diff_id_lies_is_refused()
    {
        var app = App();
        var cacheDir = Path.Combine(_scratch.Root, "cache");
        await MustBuildAsync(_scratch.Cli, "--cache-to", $"type=local,dest={cacheDir}", app);
        const string wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        await RewriteConfigAsync(cacheDir, config => config["records"]![0]!["buildfarm.record"]!["diffId"] = wrong);

        var result = await FreshHome("fresh").BuildAsync("--cache-from", $"type=local,src={cacheDir}", app);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cache record 0 (sha256:", result.Stderr);
        Assert.Contains($"has diff id {wrong}, but it has sha256:", result.Stderr);
    }

    [Fact]
    public async Task Cache_to_local_through_a_server_is_refused_before_connecting()
    {
        var result = await _scratch.Cli.BuildAsync("--server", "127.0.0.1:1", "--cache-to", $"type=local,dest={_scratch.Root}/c", App());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--cache-to type=local is not supported with --server", result.Stderr);
    }
}
