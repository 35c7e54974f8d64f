using System.Text.Json;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The image verbs on the local store: tag, images, rmi, inspect, history (no registry needed).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ImageLifecycleTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private BuildFarmCli Cli => _scratch.Cli;

    private async Task<BuildFarmCli.Result> MustAsync(params string[] args)
    {
        var result = await Cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"buildfarm {string.Join(' ', args)}: {result}");
        return result;
    }

    private async Task<string> BuildBaseAndAppAsync()
    {
        var based = _scratch.Context("base", "FROM scratch\nADD rootfs.tar /\nCMD [\"sh\"]\n");
        Assert.Equal(0, (await Cli.BuildAsync("-t", "base:1", based)).ExitCode);
        var app = _scratch.Context("app", """
            FROM scratch
            ADD rootfs.tar /
            RUN echo made here > /made && rm /bin/ls
            ENV GREETING=hello
            CMD ["cat", "/made"]
            """);
        var iid = Path.Combine(_scratch.Root, "app.iid");
        var build = await Cli.BuildAsync("-t", "app:1", "--iidfile", iid, app);
        Assert.True(build.ExitCode == 0, build.ToString());
        return await File.ReadAllTextAsync(iid);
    }

    private async Task<JsonElement> InspectAsync(string name)
    {
        using var document = JsonDocument.Parse((await MustAsync("inspect", name)).Stdout);
        return document.RootElement[0].Clone();
    }

    [Fact]
    public async Task Tag_adds_a_second_name_with_the_same_image_id()
    {
        await BuildBaseAndAppAsync();
        await MustAsync("tag", "app:1", "127.0.0.1:5000/team/app:v2");

        var images = (await MustAsync("images")).Stdout;
        var ids = images.Split('\n').Where(l => l.Contains("app")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]).ToList();
        Assert.Equal(2, ids.Count);
        Assert.Single(ids.Distinct());
        Assert.Contains("127.0.0.1:5000/team/app", images);
        Assert.Equal("hello", (await MustAsync("run", "127.0.0.1:5000/team/app:v2", "sh", "-c", "echo $GREETING")).Stdout.Trim());
    }

    [Fact]
    public async Task Tag_with_an_invalid_target_or_unknown_source_is_a_clear_error()
    {
        await BuildBaseAndAppAsync();
        var bad = await Cli.RunAsync("tag", "app:1", "Upper/Case");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("\"Upper/Case\" is not a valid repository/tag", bad.Stderr);
        var missing = await Cli.RunAsync("tag", "nothing:1", "x:1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No such image: nothing:1", missing.Stderr);
    }

    [Fact]
    public async Task Images_digests_shows_the_manifest_digest_and_quiet_one_id_per_image()
    {
        var manifest = await BuildBaseAndAppAsync();
        await MustAsync("tag", "app:1", "app:2");
        var digests = (await MustAsync("images", "--digests")).Stdout;
        Assert.Contains("DIGEST", digests);
        Assert.Equal(2, digests.Split('\n').Count(l => l.Contains(manifest)));

        var quiet = (await MustAsync("images", "-q")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, quiet.Length); // base and app; app's two names are one image
        var id = (await InspectAsync("app:2")).GetProperty("Id").GetString()!;
        Assert.Contains(id[7..19], quiet);
    }

    [Fact]
    public async Task Rmi_of_one_of_two_names_only_untags()
    {
        await BuildBaseAndAppAsync();
        await MustAsync("tag", "app:1", "app:2");
        var rmi = (await MustAsync("rmi", "app:1")).Stdout;
        Assert.Contains("Untagged: app:1", rmi);
        Assert.DoesNotContain("Deleted:", rmi);
        Assert.Equal("made here", (await MustAsync("run", "app:2")).Stdout.Trim());
    }

    [Fact]
    public async Task Rmi_of_an_id_with_two_names_needs_force()
    {
        await BuildBaseAndAppAsync();
        await MustAsync("tag", "app:1", "app:2");
        var id = (await InspectAsync("app:1")).GetProperty("Id").GetString()!;
        var refused = await Cli.RunAsync("rmi", id[7..19]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("must be forced", refused.Stderr);
        var forced = (await MustAsync("rmi", "-f", id[7..19])).Stdout;
        Assert.Contains("Untagged: app:1", forced);
        Assert.Contains("Untagged: app:2", forced);
        Assert.Contains($"Deleted: {id}", forced);
    }

    [Fact]
    public async Task Rmi_of_the_last_name_keeps_layers_another_image_uses()
    {
        await BuildBaseAndAppAsync();
        // Without step records only the named images (the prune roots) hold blobs.
        await MustAsync("cache", "prune", "--all", "--grace", "0s");
        var baseLayer = (await InspectAsync("base:1")).GetProperty("RootFS").GetProperty("Layers")[0].GetString();
        Assert.Equal(baseLayer, (await InspectAsync("app:1")).GetProperty("RootFS").GetProperty("Layers")[0].GetString());

        var rmi = (await MustAsync("rmi", "base:1")).Stdout;
        Assert.Contains("Deleted: sha256:", rmi);
        Assert.Equal("made here", (await MustAsync("run", "app:1")).Stdout.Trim());

        var last = (await MustAsync("rmi", "app:1")).Stdout;
        Assert.True(last.Split('\n').Count(l => l.StartsWith("Deleted: ", StringComparison.Ordinal)) >= 4, last); // config, manifest, 2 layers
        Assert.Contains("blobs:       0 ", (await MustAsync("cache", "du")).Stdout);
    }

    [Fact]
    public async Task Inspect_prints_docker_compatible_json()
    {
        var manifest = await BuildBaseAndAppAsync();
        var image = await InspectAsync("app:1");
        var id = image.GetProperty("Id").GetString()!;
        Assert.StartsWith("sha256:", id);
        Assert.NotEqual(manifest, id); // the ID is the config digest, as docker's
        Assert.Equal(["app:1"], image.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(JsonValueKind.Array, image.GetProperty("RepoDigests").ValueKind);
        Assert.Equal(["cat", "/made"], image.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(t => t.GetString()));
        Assert.Contains("GREETING=hello", image.GetProperty("Config").GetProperty("Env").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("amd64", image.GetProperty("Architecture").GetString());
        Assert.Equal("linux", image.GetProperty("Os").GetString());
        Assert.Equal(2, image.GetProperty("RootFS").GetProperty("Layers").GetArrayLength());
        Assert.True(image.GetProperty("Size").GetInt64() > 0);

        // skopeo reads the same config from an archive of it: same diff ids, same config digest.
        var archive = Path.Combine(_scratch.Root, "app.tar");
        var app = _scratch.Context("app", File.ReadAllText(Path.Combine(_scratch.Root, "app", "Dockerfile")));
        Assert.Equal(0, (await Cli.BuildAsync("-o", $"type=oci,dest={archive}", app)).ExitCode);
        using var config = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", "--config", $"oci-archive:{archive}"));
        Assert.Equal(config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()),
            image.GetProperty("RootFS").GetProperty("Layers").EnumerateArray().Select(d => d.GetString()));
    }

    [Fact]
    public async Task Inspect_format_prints_field_paths_and_json()
    {
        await BuildBaseAndAppAsync();
        var output = (await MustAsync("inspect", "--format", "{{.Config.Cmd}}|{{json .Config.Cmd}}|{{.Os}}", "app:1")).Stdout;
        Assert.Equal("[cat /made]|[\"cat\",\"/made\"]|linux", output.Trim());
        var bad = await Cli.RunAsync("inspect", "--format", "{{.Config.Nope}}", "app:1");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("no field Nope", bad.Stderr);
    }

    [Fact]
    public async Task History_lists_one_line_per_entry_newest_first_with_the_layers_made_here()
    {
        await BuildBaseAndAppAsync();
        var image = await InspectAsync("app:1");
        var lines = (await MustAsync("history", "--no-trunc", "app:1")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(4, lines.Length); // ADD, RUN, ENV, CMD
        Assert.Contains("CMD [\"cat\", \"/made\"]", lines[0]);
        Assert.StartsWith("<missing>", lines[0]); // ENV and CMD make no layer
        Assert.StartsWith("<missing>", lines[1]);
        Assert.Contains("RUN /bin/sh -c echo made here > /made && rm /bin/ls", lines[2]);
        var manifest = JsonDocument.Parse((await MustAsync("inspect", "--format", "{{json .RootFS.Layers}}", "app:1")).Stdout);
        Assert.Equal(2, manifest.RootElement.GetArrayLength());
        Assert.Matches("^sha256:[0-9a-f]{64} ", lines[2]);
        Assert.Matches("^sha256:[0-9a-f]{64} ", lines[3]);

        var truncated = (await MustAsync("history", "app:1")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^[0-9a-f]{12} ", truncated[3]); // [0] is the header
        Assert.Contains("…", truncated[3]); // the RUN line is longer than 45 characters
        Assert.NotNull(image.GetProperty("Id").GetString());
    }
}
