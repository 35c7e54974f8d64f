using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm build` and `buildfarm run` as a user runs them: the built command, real runc, real files.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BuildCommandTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Multi_stage_example_builds_and_run_prints_what_its_cmd_prints()
    {
        var context = _scratch.CopyExample();
        var iid = Path.Combine(_scratch.Root, "iid");
        var build = await _scratch.Cli.BuildAsync("-t", "hello:e2e", "--iidfile", iid, context);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.StartsWith("sha256:", await File.ReadAllTextAsync(iid));

        var images = await _scratch.Cli.RunAsync("images");
        Assert.Contains("hello", images.Stdout);

        var run = await _scratch.Cli.RunAsync("run", "hello:e2e");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Hello from a BuildFarm image!", run.Stdout);
        Assert.Contains("made by BuildFarm", run.Stdout);

        var rmi = await _scratch.Cli.RunAsync("rmi", "hello:e2e");
        Assert.Equal(0, rmi.ExitCode);
        Assert.NotEqual(0, (await _scratch.Cli.RunAsync("run", "hello:e2e")).ExitCode);
    }

    [Fact]
    public async Task Cache_prune_all_keeps_what_named_images_use_and_frees_it_after_rmi()
    {
        var context = _scratch.CopyExample();
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("-t", "kept:1", context)).ExitCode);

        var prune = await _scratch.Cli.RunAsync("cache", "prune", "--all", "--grace", "0s");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Contains("removed 6 records", prune.Stdout);

        var run = await _scratch.Cli.RunAsync("run", "kept:1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Hello from a BuildFarm image!", run.Stdout);

        Assert.Equal(0, (await _scratch.Cli.RunAsync("rmi", "kept:1")).ExitCode);
        await _scratch.Cli.RunAsync("cache", "prune", "--all", "--grace", "0s");
        var du = await _scratch.Cli.RunAsync("cache", "du");
        Assert.Contains("blobs:       0 ", du.Stdout);
    }

    [Fact]
    public async Task Oci_archive_passes_skopeo_and_umoci_and_the_docker_archive_has_the_docker_load_layout()
    {
        var context = _scratch.CopyExample();
        var oci = Path.Combine(_scratch.Root, "image.oci.tar");
        var docker = Path.Combine(_scratch.Root, "image.docker.tar");
        var local = Path.Combine(_scratch.Root, "rootfs");
        var metadata = Path.Combine(_scratch.Root, "metadata.json");
        var build = await _scratch.Cli.BuildAsync("-t", "example/hello:1", "--label", "team=farm",
            "--output", $"type=oci,dest={oci}", "--output", $"type=docker,dest={docker}", "--output", $"type=local,dest={local}",
            "--metadata-file", metadata, context);
        Assert.True(build.ExitCode == 0, build.ToString());

        using var meta = JsonDocument.Parse(await File.ReadAllTextAsync(metadata));
        var digest = meta.RootElement.GetProperty("containerimage.digest").GetString()!;
        var configDigest = meta.RootElement.GetProperty("containerimage.config.digest").GetString()!;
        Assert.Equal("example/hello:1", meta.RootElement.GetProperty("image.name").GetString());

        using var inspect = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", $"oci-archive:{oci}"));
        Assert.Equal(digest, inspect.RootElement.GetProperty("Digest").GetString());
        Assert.Equal("farm", inspect.RootElement.GetProperty("Labels").GetProperty("team").GetString());
        using var config = JsonDocument.Parse(await BuildFarmCli.ToolAsync("skopeo", "inspect", "--config", $"oci-archive:{oci}"));
        var c = config.RootElement.GetProperty("config");
        Assert.Equal("/app", c.GetProperty("WorkingDir").GetString());
        Assert.Contains("GREETING_FILE=/app/greeting.txt", c.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        var history = config.RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Contains(history, h => h.GetProperty("created_by").GetString()!.StartsWith("COPY --from=build") && !h.TryGetProperty("empty_layer", out _));
        Assert.Contains(history, h => h.GetProperty("created_by").GetString()!.StartsWith("ENV ") && h.GetProperty("empty_layer").GetBoolean());
        Assert.Equal(history.Count(h => !h.TryGetProperty("empty_layer", out _)),
            config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());

        var layout = Path.Combine(_scratch.Root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", oci, "-C", layout);
        var bundle = Path.Combine(_scratch.Root, "bundle");
        await BuildFarmCli.ToolAsync("umoci", "unpack", "--image", $"{layout}:1", bundle);
        Assert.Equal("Hello from a BuildFarm image!\n", await File.ReadAllTextAsync(Path.Combine(bundle, "rootfs", "app", "greeting.txt")));

        var listing = await BuildFarmCli.ToolAsync("tar", "-tf", docker);
        Assert.Contains("manifest.json", listing);
        Assert.Contains(configDigest[7..] + ".json", listing);
        Assert.Contains("/layer.tar", listing);
        var extracted = Path.Combine(_scratch.Root, "docker");
        Directory.CreateDirectory(extracted);
        await BuildFarmCli.ToolAsync("tar", "-xf", docker, "-C", extracted);
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(extracted, "manifest.json")));
        var entry = manifest.RootElement[0];
        Assert.Equal("example/hello:1", entry.GetProperty("RepoTags")[0].GetString());
        Assert.All(entry.GetProperty("Layers").EnumerateArray(), l => Assert.True(File.Exists(Path.Combine(extracted, l.GetString()!))));

        Assert.Equal("made by BuildFarm\n", await File.ReadAllTextAsync(Path.Combine(local, "app", "README")));
    }

    [Fact]
    public async Task Unchanged_rebuild_is_all_cached_a_changed_file_reruns_its_dependents_and_no_cache_reruns_all()
    {
        var context = _scratch.CopyExample();
        var iid = Path.Combine(_scratch.Root, "iid");
        var first = await _scratch.Cli.BuildAsync("-t", "hello", "--iidfile", iid, context);
        Assert.True(first.ExitCode == 0, first.ToString());
        var firstDigest = await File.ReadAllTextAsync(iid);
        Assert.Equal(6, new PlainProgress(first.Stderr).Executed.Count);

        var second = await _scratch.Cli.BuildAsync("-t", "hello", "--iidfile", iid, context);
        Assert.True(second.ExitCode == 0, second.ToString());
        var again = new PlainProgress(second.Stderr);
        Assert.Empty(again.Executed);
        Assert.Equal(6, again.Cached.Count);
        Assert.Equal(firstDigest, await File.ReadAllTextAsync(iid));

        await File.WriteAllTextAsync(Path.Combine(context, "greet.sh"), "#!/bin/sh\necho \"Hello again!\"\n");
        var changed = await _scratch.Cli.BuildAsync("-t", "hello", "--iidfile", iid, context);
        Assert.True(changed.ExitCode == 0, changed.ToString());
        var progress = new PlainProgress(changed.Stderr);
        Assert.Equal(
            ["[build 3/4] COPY greet.sh .", "[build 4/4] RUN sh greet.sh > /src/greeting.txt && echo \"built $(cat /src/greeting.txt)\"",
             "[stage-3 3/7] COPY --from=build /src/greeting.txt /app/greeting.txt", "[stage-3 4/7] COPY --from=docs /README /app/README"],
            progress.Executed);
        Assert.Equal(["[base 2/2] ADD rootfs.tar /", "[docs 2/2] RUN echo \"made by BuildFarm\" > /README && sleep 1"], progress.Cached);
        Assert.NotEqual(firstDigest, await File.ReadAllTextAsync(iid));
        Assert.Contains("Hello again!", (await _scratch.Cli.RunAsync("run", "hello")).Stdout);

        var noCache = await _scratch.Cli.BuildAsync("--no-cache", "-t", "hello", context);
        Assert.True(noCache.ExitCode == 0, noCache.ToString());
        Assert.Equal(6, new PlainProgress(noCache.Stderr).Executed.Count);
        Assert.Empty(new PlainProgress(noCache.Stderr).Cached);
    }

    [Fact]
    public async Task Two_independent_stages_run_at_the_same_time()
    {
        var context = _scratch.Context("parallel", """
            FROM scratch AS base
            ADD rootfs.tar /
            FROM base AS left
            RUN sleep 2 && echo left > /left
            FROM base AS right
            RUN sleep 2 && echo right > /right
            FROM base
            COPY --from=left /left /
            COPY --from=right /right /
            """);
        var result = await _scratch.Cli.RunAsync("build", "--progress", "rawjson", context);
        Assert.True(result.ExitCode == 0, result.ToString());
        var completed = result.Stderr.Split('\n').Where(l => l.StartsWith('{'))
            .Select(l => Protos.V1.ProgressEvent.Parser.ParseJson(l))
            .Where(e => e.Kind == Protos.V1.ProgressEvent.Types.Kind.Completed)
            .ToDictionary(e => e.Name);
        var left = completed.Single(e => e.Key.StartsWith("[left")).Value;
        var right = completed.Single(e => e.Key.StartsWith("[right")).Value;
        Assert.True(left.StartedUnixMs < right.CompletedUnixMs && right.StartedUnixMs < left.CompletedUnixMs,
            $"left ran {left.StartedUnixMs}..{left.CompletedUnixMs}, right {right.StartedUnixMs}..{right.CompletedUnixMs}");
    }

    [Fact]
    public async Task A_failing_run_reports_the_dockerfile_line_its_output_and_exits_non_zero()
    {
        var context = _scratch.Context("failing", """
            FROM scratch
            ADD rootfs.tar /
            # the next line fails
            RUN echo "boom-output-line" && exit 3
            RUN echo never
            """);
        var result = await _scratch.Cli.BuildAsync(context);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Dockerfile:4", result.Stderr);
        Assert.Contains(">>> RUN echo \"boom-output-line\" && exit 3", result.Stderr);
        Assert.Contains("boom-output-line", result.Stderr);
        Assert.Contains("exit code: 3", result.Stderr);
        Assert.DoesNotContain(new PlainProgress(result.Stderr).Executed, step => step.Contains("never"));
    }

    [Fact]
    public async Task Two_builds_started_at_once_on_one_home_both_succeed_and_leave_a_consistent_store()
    {
        var context = _scratch.CopyExample();
        using var one = _scratch.Cli.Start("build", "--progress", "plain", "-t", "one", "--iidfile", Path.Combine(_scratch.Root, "one.iid"), context);
        using var two = _scratch.Cli.Start("build", "--progress", "plain", "-t", "two", "--iidfile", Path.Combine(_scratch.Root, "two.iid"), context);
        var outputs = await Task.WhenAll(Drain(one), Drain(two));
        await Task.WhenAll(one.WaitForExitAsync(), two.WaitForExitAsync());
        Assert.True(one.ExitCode == 0, outputs[0]);
        Assert.True(two.ExitCode == 0, outputs[1]);
        // Two separate engines may both run a step (their histories then differ in time); each image must be whole.
        Assert.StartsWith("sha256:", await File.ReadAllTextAsync(Path.Combine(_scratch.Root, "one.iid")));
        Assert.StartsWith("sha256:", await File.ReadAllTextAsync(Path.Combine(_scratch.Root, "two.iid")));

        var images = await _scratch.Cli.RunAsync("images");
        Assert.Contains("one", images.Stdout);
        Assert.Contains("two", images.Stdout);
        Assert.Contains("Hello from a BuildFarm image!", (await _scratch.Cli.RunAsync("run", "one")).Stdout);
        Assert.Contains("Hello from a BuildFarm image!", (await _scratch.Cli.RunAsync("run", "two")).Stdout);
        // A third build finds every step recorded by one of the two.
        var third = await _scratch.Cli.BuildAsync(context);
        Assert.Empty(new PlainProgress(third.Stderr).Executed);

        static async Task<string> Drain(System.Diagnostics.Process p)
        {
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            return await p.StandardError.ReadToEndAsync() + await stdout;
        }
    }

    [Fact]
    public async Task Target_builds_only_the_stages_it_needs_and_secrets_and_build_args_reach_run_but_not_the_image()
    {
        var context = _scratch.Context("target", """
            FROM scratch AS base
            ADD rootfs.tar /
            FROM base AS unused
            RUN echo this-stage-must-not-run
            FROM base AS app
            ARG GREETING=hello
            RUN --mount=type=secret,id=token echo "secret-$(wc -c < /run/secrets/token) $GREETING" > /out
            CMD ["cat", "/out"]
            """);
        await File.WriteAllTextAsync(Path.Combine(_scratch.Root, "token.txt"), "s3cr3t");
        var oci = Path.Combine(_scratch.Root, "target.tar");
        var build = await _scratch.Cli.BuildAsync("--target", "app", "--build-arg", "GREETING=bonjour",
            "--secret", $"id=token,src={Path.Combine(_scratch.Root, "token.txt")}", "-t", "target", "--output", $"type=oci,dest={oci}", context);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("this-stage-must-not-run", build.Stderr);
        Assert.Equal("secret-6 bonjour", (await _scratch.Cli.RunAsync("run", "target")).Stdout.Trim());
        var extracted = Path.Combine(_scratch.Root, "target-layout");
        Directory.CreateDirectory(extracted);
        await BuildFarmCli.ToolAsync("tar", "-xf", oci, "-C", extracted);
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(extracted, "blobs", "sha256")))
        {
            var listing = await BuildFarmCli.ToolAsync("sh", "-c", $"(gzip -dc '{blob}' 2>/dev/null || cat '{blob}') | grep -a -c s3cr3t || true");
            Assert.Equal("0", listing.Trim());
        }

        var wrongTarget = await _scratch.Cli.BuildAsync("--target", "nope", context);
        Assert.NotEqual(0, wrongTarget.ExitCode);
        Assert.Contains("nope", wrongTarget.Stderr);
    }

    [Fact]
    public async Task Image_config_carries_every_dockerfile_setting_and_run_honours_them()
    {
        var context = _scratch.Context("config", """
            FROM scratch
            ADD rootfs.tar /
            ENV A=1 B="two words"
            USER nobody
            WORKDIR /srv
            EXPOSE 8080/tcp 53/udp
            VOLUME ["/data"]
            LABEL version=1
            STOPSIGNAL SIGTERM
            HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["true"]
            SHELL ["/bin/sh", "-ec"]
            ONBUILD RUN echo child
            ENTRYPOINT ["/bin/sh", "-c"]
            CMD ["echo $A $B; id -un; pwd"]
            """);
        var oci = Path.Combine(_scratch.Root, "config.tar");
        var build = await _scratch.Cli.BuildAsync("-t", "cfg", "--output", $"type=oci,dest={oci}", context);
        Assert.True(build.ExitCode == 0, build.ToString());

        var layout = Path.Combine(_scratch.Root, "config-layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", oci, "-C", layout);
        string Blob(string digest) => File.ReadAllText(Path.Combine(layout, "blobs", "sha256", digest[7..]));
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        using var manifest = JsonDocument.Parse(Blob(index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!));
        using var config = JsonDocument.Parse(Blob(manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!));
        var c = config.RootElement.GetProperty("config");
        Assert.Equal("nobody", c.GetProperty("User").GetString());
        Assert.Equal("/srv", c.GetProperty("WorkingDir").GetString());
        Assert.Contains("B=two words", c.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.True(c.GetProperty("ExposedPorts").TryGetProperty("53/udp", out _));
        Assert.True(c.GetProperty("Volumes").TryGetProperty("/data", out _));
        Assert.Equal("1", c.GetProperty("Labels").GetProperty("version").GetString());
        Assert.Equal("SIGTERM", c.GetProperty("StopSignal").GetString());
        Assert.Equal(30_000_000_000, c.GetProperty("Healthcheck").GetProperty("Interval").GetInt64());
        Assert.Equal(["/bin/sh", "-ec"], c.GetProperty("Shell").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["RUN echo child"], c.GetProperty("OnBuild").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["/bin/sh", "-c"], c.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        var history = config.RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(12, history.Count); // ONBUILD adds no history entry (as BuildKit)
        Assert.Equal("ADD rootfs.tar / # buildkit", history[0].GetProperty("created_by").GetString());
        Assert.All(history.Skip(1), h => Assert.True(h.GetProperty("empty_layer").GetBoolean()));
        Assert.Single(config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray());

        var run = await _scratch.Cli.RunAsync("run", "cfg");
        Assert.Equal("1 two words\nnobody\n/srv\n", run.Stdout);
    }
}
