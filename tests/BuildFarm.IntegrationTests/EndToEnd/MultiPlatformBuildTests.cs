using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Issue #15's platforms: <c>--platform linux/amd64,linux/arm64</c> on this amd64 host, the arm64 RUN steps under QEMU
/// user emulation (the worker registers binfmt.d's handlers), bases resolved per platform from a registry index, one
/// OCI image index out (pushed, and as an OCI archive), read back by skopeo.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MultiPlatformBuildTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Two_platform_build_gives_an_index_whose_arm64_run_printed_aarch64()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var baseName = $"{registry.Host}/base/busybox:multi";
        await MultiPlatformBusybox.PushAsync(_scratch, busybox.Rootfs, baseName);
        using (var baseIndex = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{baseName}")))
            Assert.Equal(["linux/amd64", "linux/arm64"], Platforms(baseIndex.RootElement));

        // The tool stage runs on the build platform (natively) whatever the target; the final stage on each target.
        var context = _scratch.Context("app", $"""
            FROM --platform=$BUILDPLATFORM {baseName} AS tool
            RUN uname -m > /built-on
            FROM {baseName}
            ARG TARGETPLATFORM
            ARG BUILDPLATFORM
            COPY --from=tool /built-on /built-on
            RUN echo "arch=$(uname -m) target=$TARGETPLATFORM build=$BUILDPLATFORM" | tee /arch
            """);
        var name = $"{registry.Host}/farm/multi:1";
        var archive = Path.Combine(_scratch.Root, "multi.oci.tar");
        var dockerArchive = Path.Combine(_scratch.Root, "multi.docker.tar");
        var iid = Path.Combine(_scratch.Root, "iid");
        var build = await _scratch.Cli.BuildAsync("--platform", "linux/amd64,linux/arm64", "-t", name, "--push",
            "-o", $"type=oci,dest={archive}", "-o", $"type=docker,dest={dockerArchive}", "--iidfile", iid, context);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("arch=aarch64 target=linux/arm64 build=linux/amd64", build.Stderr);
        Assert.Contains("arch=x86_64 target=linux/amd64 build=linux/amd64", build.Stderr);
        Assert.Contains("[linux/arm64 ", build.Stderr);

        var raw = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{name}");
        using var index = JsonDocument.Parse(raw);
        Assert.Equal("application/vnd.oci.image.index.v1+json", index.RootElement.GetProperty("mediaType").GetString());
        Assert.Equal(["linux/amd64", "linux/arm64"], Platforms(index.RootElement));
        Assert.Equal((await File.ReadAllTextAsync(iid)).Trim(), "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(raw))));
        // skopeo picks the arm64 manifest out of the index; its config says arm64 (not "amd64,linux").
        using var arm64 = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "--override-arch", "arm64", "inspect", "--tls-verify=false", $"docker://{name}"));
        Assert.Equal("arm64", arm64.RootElement.GetProperty("Architecture").GetString());

        // The archive's arm64 image holds what its RUN wrote: emulated for the target, native for the tool stage.
        var files = await ArchiveFilesAsync(archive, "linux/arm64");
        Assert.Equal("arch=aarch64 target=linux/arm64 build=linux/amd64\n", files["arch"]);
        Assert.Equal("x86_64\n", files["built-on"]);
        Assert.Equal([("amd64", true), ("arm64", false)], await DockerArchiveImagesAsync(dockerArchive));
    }

    /// <summary>Each image of a docker archive: its config's architecture, and whether manifest.json tags it.</summary>
    private async Task<IReadOnlyList<(string Architecture, bool Tagged)>> DockerArchiveImagesAsync(string archive)
    {
        var dir = Path.Combine(_scratch.Root, "docker-unpacked");
        Directory.CreateDirectory(dir);
        await BuildFarmCli.ToolAsync("tar", "-xf", archive, "-C", dir);
        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json")));
        return [.. manifest.RootElement.EnumerateArray().Select(entry =>
        {
            using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, entry.GetProperty("Config").GetString()!)));
            var tagged = entry.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array && tags.GetArrayLength() > 0;
            return (config.RootElement.GetProperty("architecture").GetString()!, tagged);
        })];
    }

    [Fact]
    public async Task A_single_platform_base_used_for_another_platform_warns_as_buildkit()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var baseName = $"{registry.Host}/base/amd64-only:1";
        var pushed = await _scratch.Cli.BuildAsync("-t", baseName, "--push", _scratch.Context("amd64-base", "FROM scratch\nADD rootfs.tar /\n"));
        Assert.True(pushed.ExitCode == 0, pushed.ToString());

        // The amd64 busybox still runs (the kernel runs x86_64 natively whatever the image says), as with BuildKit.
        var build = await _scratch.Cli.BuildAsync("--platform", "linux/arm64", _scratch.Context("on-amd64", $"FROM {baseName}\nRUN uname -m\n"));

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains($"WARNING: InvalidBaseImagePlatform: Base image {baseName} was pulled with platform \"linux/amd64\", expected \"linux/arm64\" for current build", build.Stderr);
    }

    [Fact]
    public async Task Platform_list_with_a_malformed_entry_is_refused_before_anything_runs()
    {
        var context = _scratch.Context("bad", "FROM scratch\nADD rootfs.tar /\nRUN echo never-runs\n");
        var build = await _scratch.Cli.BuildAsync("--platform", "linux/amd64,arm64", context);
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("invalid platform \"arm64\"", build.Stderr);
        Assert.DoesNotContain("never-runs", build.Stderr);
    }

    [Fact]
    public async Task Run_step_for_a_platform_no_worker_can_run_fails_naming_what_is_missing()
    {
        // No worker maps sparc64 to a QEMU handler, so none offers it: the pool fails the RUN instead of queueing it.
        var context = _scratch.Context("sparc", "FROM scratch\nADD rootfs.tar /\nRUN echo never-runs\n");
        var build = await _scratch.Cli.BuildAsync("--platform", "linux/sparc64", context);
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("no worker can run linux/sparc64 steps", build.Stderr);
        Assert.Contains("qemu-user-static", build.Stderr);
        Assert.DoesNotContain("never-runs\n", build.Stderr.Replace("RUN echo never-runs", ""));
    }

    private static IReadOnlyList<string> Platforms(JsonElement index) =>
        [.. index.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("platform"))
            .Select(p => $"{p.GetProperty("os").GetString()}/{p.GetProperty("architecture").GetString()}")];

    /// <summary>The top layer's regular files (name → text) of one platform's image in an OCI archive.</summary>
    private async Task<Dictionary<string, string>> ArchiveFilesAsync(string archive, string platform)
    {
        var dir = Path.Combine(_scratch.Root, "unpacked");
        Directory.CreateDirectory(dir);
        await BuildFarmCli.ToolAsync("tar", "-xf", archive, "-C", dir);
        JsonElement Blob(string digest) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "blobs", "sha256", digest["sha256:".Length..]))).RootElement;
        var top = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "index.json"))).RootElement.GetProperty("manifests")[0];
        Assert.Equal("application/vnd.oci.image.index.v1+json", top.GetProperty("mediaType").GetString());
        var manifest = Blob(Blob(top.GetProperty("digest").GetString()!).GetProperty("manifests").EnumerateArray()
            .Single(m => $"{m.GetProperty("platform").GetProperty("os").GetString()}/{m.GetProperty("platform").GetProperty("architecture").GetString()}" == platform)
            .GetProperty("digest").GetString()!);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var layer in manifest.GetProperty("layers").EnumerateArray().Reverse().Take(2))
        {
            await using var blob = File.OpenRead(Path.Combine(dir, "blobs", "sha256", layer.GetProperty("digest").GetString()!["sha256:".Length..]));
            await using var gzip = new GZipStream(blob, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (await tar.GetNextEntryAsync() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                using var reader = new StreamReader(entry.DataStream);
                files.TryAdd(entry.Name.TrimStart('.', '/'), await reader.ReadToEndAsync());
            }
        }
        return files;
    }
}
