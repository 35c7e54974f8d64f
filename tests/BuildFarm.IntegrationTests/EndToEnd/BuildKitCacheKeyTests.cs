using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BuildFarm.Coordinator.CacheIo.BuildKitKeys;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Cache import/export that hits across BuildKit (Debian 13's dockerd 26.1, BuildKit v0.13) and the farm: the farm
/// computes BuildKit's own cache keys for FROM image, RUN, WORKDIR and COPY (--from=stage, or of a context path), so a cache either one exported warms the other.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class BuildKitCacheKeyTests(BuildKitCacheFixture peer) : IClassFixture<BuildKitCacheFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-bkkeys-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Executed, int Cached) Steps(BuildFarmCli.Result result)
    {
        var match = Regex.Match(result.Stderr, @"(\d+) steps executed, (\d+) cached");
        Assert.True(match.Success, result.ToString());
        return (int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value));
    }

    private static HashSet<string> RecordDigests(JsonObject config) =>
        config["records"]!.AsArray().Select(r => r!["digest"]!.GetValue<string>()).ToHashSet();

    [Fact]
    public async Task BuildKit_cache_warms_a_fresh_home_so_no_step_executes_and_the_layers_are_BuildKits()
    {
        var fresh = new BuildFarmCli(Path.Combine(_root, "fresh"));
        var oci = Path.Combine(_root, "image.tar");
        var result = await fresh.BuildAsync("--cache-from", $"type=local,src={peer.CacheDirectory}", "--output", $"type=oci,dest={oci}", peer.Context);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("(7 found under BuildKit's cache keys)", result.Stderr); // 3 RUNs, WORKDIR, 2 context COPYs, COPY --from
        Assert.Equal(0, Steps(result).Executed);
        Assert.Equal(peer.BuildKitDiffIds, await DiffIdsAsync(oci));
    }

    [Fact]
    public async Task A_changed_build_arg_misses_the_RUN_that_sees_it_and_every_step_after_it()
    {
        var fresh = new BuildFarmCli(Path.Combine(_root, "fresh"));
        var result = await fresh.BuildAsync("--cache-from", $"type=local,src={peer.CacheDirectory}", "--build-arg", "GREETING=bye", peer.Context);

        Assert.True(result.ExitCode == 0, result.ToString());
        // the tools stage's RUN, WORKDIR and the context COPYs hit; RUN echo "$GREETING…", the COPY and the last RUN after it run
        Assert.Contains("(4 found under BuildKit's cache keys)", result.Stderr);
        Assert.Equal(3, Steps(result).Executed);
    }

    [Fact]
    public async Task Computed_keys_equal_the_record_digests_BuildKit_wrote_for_each_instruction_kind()
    {
        var config = BuildKitCacheFixture.CacheConfig(peer.CacheDirectory);
        var digests = RecordDigests(config);
        var platform = new BuildKitPlatform("linux", "amd64", "");

        // FROM: the image source's manifest key and its rootfs chain id key
        var manifest = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", "--raw", $"docker://{peer.Image}");
        var manifestDigest = BuildKitDigest.Of(System.Text.Encoding.UTF8.GetBytes(manifest));
        var imageConfig = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--tls-verify=false", "--config", "--raw", $"docker://{peer.Image}"))!;
        var diffIds = imageConfig["rootfs"]!["diff_ids"]!.AsArray().Select(d => d!.GetValue<string>()).ToList();
        var source = BuildKitOpKeys.ImageSource(manifestDigest, platform, diffIds);
        Assert.All(source, d => Assert.Contains(BuildKitDigest.RootKey(d), digests));

        // WORKDIR: the mkdir file op
        Assert.Contains(BuildKitDigest.RootKey(BuildKitOpKeys.Mkdir("/srv", 0b111_101_101, makeParents: true)), digests);

        // RUN: the exec op, env in BuildKit's order (image env, then ARG, then ENV), cwd from WORKDIR, no network
        string[] env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello", "APP=/srv/app"];
        var run = BuildKitOpKeys.Exec(new BuildKitExec(["/bin/sh", "-c", "echo \"$GREETING from $APP\" > greeting"], env, "/srv", "",
            BuildKitOpKeys.NetModeNone, 0), platform);
        var runKey = BuildKitDigest.RootKey(run);
        Assert.Contains(runKey, digests);

        // and the RUN links to its parent op's record through the root mount's selector
        var record = config["records"]!.AsArray().First(r => r!["digest"]!.GetValue<string>() == runKey)!;
        Assert.All(record["inputs"]![0]!.AsArray(), l => Assert.Equal(BuildKitOpKeys.RootMountSelector, l!["selector"]!.GetValue<string>()));

        // COPY --from=stage: the copy file op, its source stage linked as input 1 through the source path's selector
        var (copy, sourceSelector) = BuildKitOpKeys.CopyFromStage("/tool", "/srv/tool");
        var copyKey = BuildKitDigest.RootKey(copy);
        Assert.Contains(copyKey, digests);
        var copyRecord = config["records"]!.AsArray().First(r => r!["digest"]!.GetValue<string>() == copyKey)!;
        Assert.Contains(copyRecord["inputs"]![1]!.AsArray(), l => l!["selector"]?.GetValue<string>() == sourceSelector);
    }

    [Fact]
    public void Context_copy_keys_equal_the_records_BuildKit_wrote_and_link_its_content_key()
    {
        var config = BuildKitCacheFixture.CacheConfig(peer.CacheDirectory);
        var records = config["records"]!.AsArray();
        foreach (var (source, dest) in new[] { ("/app.txt", "/srv/app.txt"), ("/conf", "/srv/conf/") })
        {
            var checksum = BuildKitContentHash.Checksum(peer.Context, source, CancellationToken.None);
            Assert.NotNull(checksum);
            var (copy, contextKey) = BuildKitOpKeys.CopyFromContext(source, dest, checksum);
            var copyKey = BuildKitDigest.RootKey(copy);
            var record = records.FirstOrDefault(r => r!["digest"]!.GetValue<string>() == copyKey);
            Assert.True(record is not null, $"no record {copyKey} for COPY {source} {dest}");
            // input 1 (the context) links, with no selector, to the root record of the content key
            var linked = record["inputs"]![1]!.AsArray().Select(l => records[l!["link"]!.GetValue<int>()]!["digest"]!.GetValue<string>());
            Assert.Contains(BuildKitDigest.RootKey(contextKey, BuildKitOpKeys.ContentKeyOutput), linked);
        }
    }

    [Fact]
    public async Task Farm_cache_makes_a_pruned_BuildKit_show_its_RUN_WORKDIR_and_COPY_steps_CACHED()
    {
        var farm = new BuildFarmCli(Path.Combine(_root, "farm"));
        var farmCache = Path.Combine(_root, "farm-cache");
        var built = await farm.BuildAsync("--cache-to", $"type=local,dest={farmCache},mode=max", peer.Context);
        Assert.True(built.ExitCode == 0, built.ToString());
        Assert.True(Steps(built).Executed >= 7, built.ToString()); // the farm's own layers, not BuildKit's

        await AssertPrunedBuildKitHitsAsync($"type=local,src={farmCache}");
    }

    [Fact]
    public async Task BuildKit_registry_cache_warms_a_fresh_home_so_no_step_executes()
    {
        var cacheRef = $"{peer.RegistryHost}/cache/app:buildkit";
        await PruneBuildKitAsync(); // BuildKit's own steps, not results another test imported into it
        await peer.Docker.DockerAsync("buildx", "build", "--network", "none", "--cache-to", $"type=registry,ref={cacheRef},mode=max", "-t", "bk:3", peer.Context);

        var result = await new BuildFarmCli(Path.Combine(_root, "fresh")).BuildAsync("--cache-from", $"type=registry,ref={cacheRef}", peer.Context);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Stderr.Contains("(7 found under BuildKit's cache keys)"), result.ToString());
        Assert.Equal(0, Steps(result).Executed);
    }

    [Fact]
    public async Task Farm_registry_cache_makes_a_pruned_BuildKit_show_its_steps_CACHED()
    {
        var cacheRef = $"{peer.RegistryHost}/cache/app:farm";
        var built = await new BuildFarmCli(Path.Combine(_root, "farm")).BuildAsync("--cache-to", $"type=registry,ref={cacheRef},mode=max", peer.Context);
        Assert.True(built.ExitCode == 0, built.ToString());
        await AssertPrunedBuildKitHitsAsync($"type=registry,ref={cacheRef}");
    }

    // BuildKit with its own cache pruned builds the Dockerfile from the given cache: every RUN, WORKDIR and COPY is CACHED.
    private async Task AssertPrunedBuildKitHitsAsync(string cacheFrom)
    {
        await PruneBuildKitAsync();
        var (_, progress) = await peer.Docker.DockerWithStderrAsync("buildx", "build", "--network", "none", "--progress", "plain",
            "--cache-from", cacheFrom, "-t", "bk:2", peer.Context);

        var steps = Regex.Matches(progress, @"^#(\d+) \[(?:[\w-]+ )?\d+/\d+\] ((?:RUN|WORKDIR|COPY) .*)$", RegexOptions.Multiline)
            .Select(m => (Id: m.Groups[1].Value, Name: m.Groups[2].Value)).DistinctBy(s => s.Id).ToList();
        Assert.Equal(7, steps.Count);
        var missed = steps.Where(s => !Regex.IsMatch(progress, $"^#{s.Id} CACHED$", RegexOptions.Multiline)).Select(s => s.Name).ToList();
        Assert.True(missed.Count == 0, $"not CACHED: {string.Join(", ", missed)}\n{progress}");
    }

    private async Task PruneBuildKitAsync()
    {
        await peer.Docker.DockerAsync("buildx", "prune", "--all", "--force");
        foreach (var tag in new[] { "bk:1", "bk:2", "bk:3" })
        {
            try { await peer.Docker.DockerAsync("image", "rm", "-f", tag); }
            catch (InvalidOperationException) { /* not there */ }
        }
    }

    private async Task<List<string>> DiffIdsAsync(string ociTar)
    {
        var layout = Path.Combine(_root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", ociTar, "-C", layout);
        string Blob(string digest) => Path.Combine(layout, "blobs", "sha256", digest[7..]);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(layout, "index.json")))!;
        var manifest = JsonNode.Parse(File.ReadAllText(Blob(index["manifests"]![0]!["digest"]!.GetValue<string>())))!;
        var config = JsonNode.Parse(File.ReadAllText(Blob(manifest["config"]!["digest"]!.GetValue<string>())))!;
        return config["rootfs"]!["diff_ids"]!.AsArray().Select(d => d!.GetValue<string>()).ToList();
    }
}
