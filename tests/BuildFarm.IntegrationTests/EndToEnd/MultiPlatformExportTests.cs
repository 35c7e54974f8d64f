using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BuildFarm.Cli.Engine;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Issue #15's multi-platform gaps, each as BuildKit (buildx 0.13) does it: one cache config over every platform's
/// steps, the metadata file of an index, the farm's image store keeping the index, and --load into a docker daemon
/// refused as buildx refuses it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MultiPlatformExportTests(BusyboxFixture busybox) : IDisposable
{
    private const string Platforms = "linux/amd64,linux/arm64";
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    /// <summary>An amd64 and an arm64 busybox (rootfs-ARCH.tar) under the given Dockerfile.</summary>
    private string Context(string dockerfile)
    {
        var context = MultiPlatformBusybox.Context(_scratch, busybox.Rootfs);
        File.WriteAllText(Path.Combine(context, "Dockerfile"), dockerfile);
        return context;
    }

    private const string FilesOnly = "FROM scratch\nARG TARGETARCH\nADD rootfs-${TARGETARCH}.tar /\nCMD [\"sh\"]\n";

    private static async Task<BuildFarmCli.Result> MustAsync(BuildFarmCli cli, params string[] args)
    {
        var result = await cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static (int Executed, int Cached) Steps(BuildFarmCli.Result result)
    {
        var match = Regex.Match(result.Stderr, @"(\d+) steps executed, (\d+) cached");
        Assert.True(match.Success, result.ToString());
        return (int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value));
    }

    private static JsonNode Json(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    [Fact]
    public async Task Cache_to_of_a_two_platform_build_warms_both_platforms_of_a_fresh_home()
    {
        var context = Context(FilesOnly.Replace("CMD", "RUN uname -m > /arch\nCMD"));
        var cache = Path.Combine(_scratch.Root, "cache");
        var first = Path.Combine(_scratch.Root, "first.json");
        var built = await MustAsync(_scratch.Cli, "build", "--progress", "plain", "--platform", Platforms,
            "--cache-to", $"type=local,dest={cache}", "--metadata-file", first, context);
        Assert.Equal((4, 0), Steps(built)); // ADD and RUN, per platform

        // One cache config, as BuildKit's: both platforms' records (mode=min: each target stage).
        var index = Json(Path.Combine(cache, "index.json"));
        var manifest = Json(Blob(cache, index["manifests"]![0]!["digest"]!.GetValue<string>()));
        var config = Json(Blob(cache, manifest["config"]!["digest"]!.GetValue<string>()));
        Assert.Equal(4, config["records"]!.AsArray().Count);

        var fresh = new BuildFarmCli(Path.Combine(_scratch.Root, "fresh"));
        var second = Path.Combine(_scratch.Root, "second.json");
        var warmed = await MustAsync(fresh, "build", "--progress", "plain", "--platform", Platforms,
            "--cache-from", $"type=local,src={cache}", "--metadata-file", second, context);
        Assert.Equal((0, 4), Steps(warmed));
        Assert.Equal(Json(first)["containerimage.digest"]!.GetValue<string>(), Json(second)["containerimage.digest"]!.GetValue<string>());
    }

    [Fact]
    public async Task Metadata_file_of_a_two_platform_build_describes_its_index_as_buildx()
    {
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        var archive = Path.Combine(_scratch.Root, "multi.tar");
        await MustAsync(_scratch.Cli, "build", "--progress", "plain", "--platform", Platforms, "-t", "farm/multi:1",
            "-o", $"type=oci,dest={archive}", "--metadata-file", metadata, Context(FilesOnly));

        // The keys buildx 0.13 writes for a multi-platform image (no containerimage.config.digest: an index has no one config).
        var written = Json(metadata).AsObject();
        Assert.Equal(["buildx.build.ref", "containerimage.descriptor", "containerimage.digest", "image.name"], written.Select(p => p.Key).ToList());
        var digest = written["containerimage.digest"]!.GetValue<string>();
        var descriptor = written["containerimage.descriptor"]!.AsObject();
        Assert.Equal(["mediaType", "digest", "size"], descriptor.Select(p => p.Key).ToList());
        Assert.Equal(OciIndex, descriptor["mediaType"]!.GetValue<string>());
        Assert.Equal(digest, descriptor["digest"]!.GetValue<string>());
        Assert.Equal("farm/multi:1", written["image.name"]!.GetValue<string>());
        Assert.Matches("^buildfarm/embedded/[0-9a-f]{32}$", written["buildx.build.ref"]!.GetValue<string>());

        // The descriptor is the index the OCI archive holds, byte for byte.
        var raw = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", $"oci-archive:{archive}");
        Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(raw))));
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(raw), descriptor["size"]!.GetValue<long>());
    }

    [Fact]
    public async Task Metadata_file_through_the_resident_engine_describes_the_index_too()
    {
        // The default path: the result crosses the engine's gRPC API (BuildResult's media type and size) to the client.
        var client = new BuildFarmCli(_scratch.Home);
        client.Environment["BUILDFARM_ENGINE"] = "resident";
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        try
        {
            await MustAsync(client, "build", "--progress", "plain", "--platform", Platforms, "--metadata-file", metadata, Context(FilesOnly));
        }
        finally
        {
            await client.RunAsync("serve", "--stop");
            if (EngineRecord.Read(Path.Combine(_scratch.Home, "engine.json")) is { } engine)
            {
                EngineProcess.KillNow(engine.Pid);
                await EngineProcess.WaitForExitAsync(engine.Pid, TimeSpan.FromSeconds(10), CancellationToken.None);
            }
        }
        var written = Json(metadata).AsObject();
        Assert.Equal(["buildx.build.ref", "containerimage.descriptor", "containerimage.digest"], written.Select(p => p.Key).ToList());
        Assert.Equal(OciIndex, written["containerimage.descriptor"]!["mediaType"]!.GetValue<string>());
        Assert.True(written["containerimage.descriptor"]!["size"]!.GetValue<long>() > 0);
        Assert.Matches("^buildfarm/engine/[0-9a-f]{32}$", written["buildx.build.ref"]!.GetValue<string>());
    }

    [Fact]
    public async Task Image_store_keeps_the_index_of_a_two_platform_build_through_prune_save_push_and_rmi()
    {
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        await MustAsync(_scratch.Cli, "build", "--progress", "plain", "--platform", Platforms, "-t", "farm/multi:1",
            "--metadata-file", metadata, Context(FilesOnly));
        var indexDigest = Json(metadata)["containerimage.digest"]!.GetValue<string>();
        Assert.Contains(indexDigest, (await MustAsync(_scratch.Cli, "images", "--digests")).Stdout);

        // Without step records only the named images hold blobs: the index keeps the arm64 image too.
        await MustAsync(_scratch.Cli, "cache", "prune", "--all", "--grace", "0s");
        var saved = Path.Combine(_scratch.Root, "saved.tar");
        await MustAsync(_scratch.Cli, "save", "--format", "oci", "-o", saved, "farm/multi:1");
        var raw = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", $"oci-archive:{saved}"))!;
        Assert.Equal(OciIndex, raw["mediaType"]!.GetValue<string>());
        Assert.Equal(["amd64", "arm64"], raw["manifests"]!.AsArray().Select(m => m!["platform"]!["architecture"]!.GetValue<string>()).ToList());
        var arm64 = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "--override-arch", "arm64", "inspect", "--config", $"oci-archive:{saved}"))!;
        Assert.Equal("arm64", arm64["architecture"]!.GetValue<string>());

        await using (var registry = await RegistryFixture.StartAsync())
        {
            var pushedName = $"{registry.Host}/farm/multi:1";
            await MustAsync(_scratch.Cli, "tag", "farm/multi:1", pushedName);
            Assert.Contains($"digest: {indexDigest}", (await MustAsync(_scratch.Cli, "push", pushedName)).Stdout);
            var pushed = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{pushedName}"))!;
            Assert.Equal(2, pushed["manifests"]!.AsArray().Count);
            await MustAsync(_scratch.Cli, "rmi", pushedName);
        }

        // The last name takes the whole index with it: nothing is left in the store.
        await MustAsync(_scratch.Cli, "rmi", "farm/multi:1");
        Assert.Contains("blobs:       0 ", (await MustAsync(_scratch.Cli, "cache", "du")).Stdout);
    }

    [Fact]
    public async Task Save_and_load_of_a_two_platform_image_keep_its_index_whole()
    {
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        await MustAsync(_scratch.Cli, "build", "--progress", "plain", "--platform", Platforms, "-t", "farm/multi:1",
            "--metadata-file", metadata, Context(FilesOnly));
        var indexDigest = Json(metadata)["containerimage.digest"]!.GetValue<string>();
        var saved = Path.Combine(_scratch.Root, "saved.tar");
        await MustAsync(_scratch.Cli, "save", "--format", "oci", "-o", saved, "farm/multi:1");

        var other = new BuildFarmCli(Path.Combine(_scratch.Root, "other"));
        await MustAsync(other, "load", "-i", saved);
        Assert.Contains(indexDigest, (await MustAsync(other, "images", "--digests")).Stdout);
        var again = Path.Combine(_scratch.Root, "again.tar");
        await MustAsync(other, "save", "--format", "oci", "-o", again, "farm/multi:1");
        var raw = JsonNode.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", $"oci-archive:{again}"))!;
        Assert.Equal(2, raw["manifests"]!.AsArray().Count);
    }

    [Fact]
    public async Task Load_of_a_two_platform_build_into_a_docker_daemon_is_refused_before_building_as_buildx()
    {
        // buildx 0.13's docker driver says this before it builds; the daemon is never asked.
        _scratch.Cli.Environment["DOCKER_HOST"] = $"unix://{Path.Combine(_scratch.Root, "docker.sock")}";
        var result = await _scratch.Cli.BuildAsync("--platform", Platforms, "-t", "farm/multi:1", "--load", Context(FilesOnly));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ERROR: docker exporter does not currently support exporting manifest lists", result.Stderr);
        Assert.DoesNotContain("ADD rootfs", result.Stderr);
    }

    private static string Blob(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
}
