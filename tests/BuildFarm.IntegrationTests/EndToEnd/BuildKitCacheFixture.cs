using BuildFarm.Oci.Native;
using System.Text.Json.Nodes;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// Once per class: a registry holding a busybox base the farm published, the BuildKit peer (Debian 13's dockerd with
/// containerd's image store, whose docker driver exports caches), and BuildKit's build of <see cref="Dockerfile"/> with
/// <c>--cache-to type=local,mode=max</c>: its cache folder, its image's diff ids.
/// </summary>
public sealed class BuildKitCacheFixture : IAsyncLifetime
{
    private RegistryFixture? _registry;

    public BusyboxRootfs Busybox { get; } = new();
    public string Root { get; } = Directory.CreateTempSubdirectory("bf-bkkeys-").FullName;
    public DockerDaemonFixture Docker { get; } = new() { BuildxWithContainerdStore = true };
    public string Image { get; private set; } = "";
    public string RegistryHost => _registry?.Host ?? throw new InvalidOperationException("the fixture has not started");
    public string Context { get; private set; } = "";
    public string CacheDirectory => Path.Combine(Root, "buildkit-cache");
    public IReadOnlyList<string> BuildKitDiffIds { get; private set; } = [];

    /// <summary>FROM, ARG, ENV, WORKDIR, RUN, COPY of a context file and of a context folder, and COPY --from=stage: the
    /// instructions whose BuildKit keys the farm computes. The ARG comes before the ENV so that BuildKit's env order (GREETING before APP) differs from the image
    /// config's.</summary>
    public string Dockerfile => $"""
        FROM {Image} AS tools
        RUN echo tool > /tool

        FROM {Image}
        ARG GREETING=hello
        ENV APP=/srv/app
        WORKDIR /srv
        COPY app.txt /srv/app.txt
        COPY conf/ conf/
        RUN echo "$GREETING from $APP" > greeting
        COPY --from=tools /tool /srv/tool
        RUN cat greeting tool > twice
        """;

    public async Task InitializeAsync()
    {
        _registry = await RegistryFixture.StartAsync();
        Image = $"{_registry.Host}/farm/busybox:1";
        var publisher = new BuildFarmCli(Path.Combine(Root, "publisher"));
        var baseContext = Path.Combine(Root, "base");
        Directory.CreateDirectory(baseContext);
        File.Copy(Busybox.TarPath, Path.Combine(baseContext, "rootfs.tar"));
        await File.WriteAllTextAsync(Path.Combine(baseContext, "Dockerfile"), "FROM scratch\nADD rootfs.tar /\nCMD [\"sh\"]\n");
        var published = await publisher.BuildAsync("-t", Image, baseContext);
        if (published.ExitCode != 0) throw new InvalidOperationException(published.ToString());
        var pushed = await publisher.RunAsync("push", Image);
        if (pushed.ExitCode != 0) throw new InvalidOperationException(pushed.ToString());

        Context = Path.Combine(Root, "app");
        Directory.CreateDirectory(Context);
        await File.WriteAllTextAsync(Path.Combine(Context, "Dockerfile"), Dockerfile);
        // context files BuildKit keys by content (mode and owner are in its hash: fixed here, root owns them)
        Directory.CreateDirectory(Path.Combine(Context, "conf", "sub"));
        foreach (var (file, text) in new[] { ("app.txt", "app\n"), ("conf/a.conf", "a=1\n"), ("conf/sub/b.conf", "b=2\n") })
        {
            await File.WriteAllTextAsync(Path.Combine(Context, file), text);
            Posix.Chmod(Path.Combine(Context, file), 0b110_100_100);
        }
        foreach (var dir in new[] { "conf", "conf/sub" }) Posix.Chmod(Path.Combine(Context, dir), 0b111_101_101);
        await Docker.InitializeAsync();
        await Docker.DockerAsync("buildx", "build", "--network", "none", "--cache-to", $"type=local,dest={CacheDirectory},mode=max", "-t", "bk:1", Context);
        var layers = await Docker.DockerAsync("image", "inspect", "bk:1", "--format", "{{json .RootFS.Layers}}");
        BuildKitDiffIds = JsonNode.Parse(layers)!.AsArray().Select(l => l!.GetValue<string>()).ToList();
    }

    public async Task DisposeAsync()
    {
        await Docker.DisposeAsync();
        if (_registry is not null) await _registry.DisposeAsync();
        Busybox.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The cache config a cache folder's manifest (BuildKit's older index form, or our image manifest) names.</summary>
    public static JsonObject CacheConfig(string dir)
    {
        string Blob(string digest) => Path.Combine(dir, "blobs", "sha256", digest["sha256:".Length..]);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "index.json")))!;
        var top = JsonNode.Parse(File.ReadAllText(Blob(index["manifests"]![0]!["digest"]!.GetValue<string>())))!;
        var config = top["config"] ?? top["manifests"]!.AsArray().Single(m => m!["mediaType"]!.GetValue<string>() == "application/vnd.buildkit.cacheconfig.v0");
        return JsonNode.Parse(File.ReadAllText(Blob(config!["digest"]!.GetValue<string>())))!.AsObject();
    }
}
