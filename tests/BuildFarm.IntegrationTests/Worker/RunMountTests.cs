using System.Text;
using BuildFarm.Oci.Layers;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class RunMountTests(WorkerFixture worker)
{
    private const string Secret = "s3cr3t-value-7f3a";

    private Task<StepResult> RunAsync(string command, IReadOnlyList<RunMount> mounts, CollectingProgress? progress = null,
        Func<StepRequest, StepRequest>? configure = null, IReadOnlyList<LayerRef>? parents = null) =>
        worker.RunAsync(command, parents, r =>
        {
            var request = r with { Operation = new RunOperation { Command = [command], Mounts = mounts } };
            return configure is null ? request : configure(request);
        }, progress);

    [Fact]
    public async Task Cache_mount_keeps_its_content_between_steps_and_out_of_the_layer()
    {
        var id = "cache-" + Guid.NewGuid().ToString("N");
        RunMount Cache() => new() { Type = RunMountType.Cache, Target = "/var/cache/thing", Id = id };
        var progress = new CollectingProgress();

        var first = await RunAsync("echo kept > /var/cache/thing/file", [Cache()]);
        var second = await RunAsync("cat /var/cache/thing/file", [Cache()], progress);

        Assert.True(first.Succeeded);
        Assert.Equal(["kept"], progress.Lines.Select(l => l.Text));
        var entries = await worker.ReadLayerAsync(new LayerRef(first.Layer!, first.DiffId!.Value));
        Assert.DoesNotContain(entries.Keys, k => k.Contains("cache"));
    }

    [Fact]
    public async Task Cache_mount_with_locked_sharing_runs_writers_one_at_a_time()
    {
        var mount = new RunMount { Type = RunMountType.Cache, Target = "/c", Id = "locked-" + Guid.NewGuid().ToString("N"), Sharing = CacheSharing.Locked };
        const string command = "if [ -e /c/busy ]; then echo overlap; fi; touch /c/busy; sleep 0.4; rm /c/busy; echo done";
        var a = new CollectingProgress();
        var b = new CollectingProgress();

        await Task.WhenAll(RunAsync(command, [mount], a), RunAsync(command, [mount], b));

        Assert.Equal(["done"], a.Lines.Select(l => l.Text));
        Assert.Equal(["done"], b.Lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Cache_mount_with_private_sharing_gives_a_busy_cache_a_fresh_instance()
    {
        var mount = new RunMount { Type = RunMountType.Cache, Target = "/c", Id = "private-" + Guid.NewGuid().ToString("N"), Sharing = CacheSharing.Private };
        var a = new CollectingProgress();
        var ready = new TaskCompletionSource();
        a.Reported += l => { if (l.Text == "ready") ready.TrySetResult(); };
        var b = new CollectingProgress();

        var first = RunAsync("echo A > /c/who; echo ready; sleep 1; cat /c/who", [mount], a);
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await RunAsync("cat /c/who 2>/dev/null || echo empty; echo B > /c/who", [mount], b);
        await first;

        Assert.Equal(["ready", "A"], a.Lines.Select(l => l.Text));
        Assert.Equal(["empty"], b.Lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Secret_mount_is_readable_at_run_secrets_and_in_no_layer()
    {
        var result = await RunAsync(
            $"test \"$(cat /run/secrets/token)\" = {Secret} && stat -c %a /run/secrets/token > /secret-mode",
            [new RunMount { Type = RunMountType.Secret, Id = "token", Target = "/run/secrets/token" }],
            configure: r => r with { Secrets = new Dictionary<string, byte[]> { ["token"] = Encoding.UTF8.GetBytes(Secret) } });

        Assert.True(result.Succeeded, string.Join('\n', result.LastOutput.Select(l => l.Text)));
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.Equal(["secret-mode"], entries.Keys.Where(k => k.Length > 0 && k != "."));
        Assert.Equal("400\n", entries["secret-mode"]);
        Assert.DoesNotContain(Secret, await ReadUncompressedAsync(result));
    }

    [Fact]
    public async Task Secret_file_lives_on_a_worker_tmpfs_that_is_gone_after_the_step()
    {
        var progress = new CollectingProgress();
        var result = await RunAsync("grep ' /run/secrets/token ' /proc/mounts | cut -d' ' -f1",
            [new RunMount { Type = RunMountType.Secret, Id = "token", Target = "/run/secrets/token" }], progress,
            r => r with { Secrets = new Dictionary<string, byte[]> { ["token"] = Encoding.UTF8.GetBytes(Secret) } });

        Assert.True(result.Succeeded);
        Assert.Equal(["tmpfs"], progress.Lines.Select(l => l.Text));
        Assert.Empty(BuildFarm.Worker.Snapshots.MountTable.MountPointsUnder(worker.Root));
    }

    [Fact]
    public async Task Secret_mount_as_env_is_visible_only_to_the_step()
    {
        var result = await RunAsync(
            $"test \"$API_TOKEN\" = {Secret} && echo ok > /checked",
            [new RunMount { Type = RunMountType.Secret, Id = "token", Env = "API_TOKEN" }],
            configure: r => r with { Secrets = new Dictionary<string, byte[]> { ["token"] = Encoding.UTF8.GetBytes(Secret) } });

        Assert.True(result.Succeeded);
        Assert.DoesNotContain(Secret, await ReadUncompressedAsync(result));
    }

    [Fact]
    public async Task Required_secret_that_was_not_provided_fails_naming_it()
    {
        var error = await Assert.ThrowsAsync<SecretNotFoundException>(() =>
            RunAsync("true", [new RunMount { Type = RunMountType.Secret, Id = "missing-one", Required = true }]));
        Assert.Contains("missing-one", error.Message);
    }

    [Fact]
    public async Task Bind_mount_from_the_context_is_read_only_by_default()
    {
        var context = Directory.CreateDirectory(Path.Combine(worker.Root, "ctx-" + Guid.NewGuid().ToString("N"))).FullName;
        File.WriteAllText(Path.Combine(context, "input.txt"), "from context");
        var progress = new CollectingProgress();

        var result = await RunAsync("cat /src/input.txt; echo; touch /src/new 2>/dev/null || echo read-only",
            [new RunMount { Type = RunMountType.Bind, Target = "/src" }], progress,
            r => r with { ContextDirectory = context });

        Assert.True(result.Succeeded);
        Assert.Equal(["from context", "read-only"], progress.Lines.Select(l => l.Text));
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("src", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bind_mount_rw_lets_the_step_write_but_throws_the_writes_away()
    {
        var context = Directory.CreateDirectory(Path.Combine(worker.Root, "ctx-" + Guid.NewGuid().ToString("N"))).FullName;
        File.WriteAllText(Path.Combine(context, "input.txt"), "original");

        var result = await RunAsync("echo changed > /src/input.txt && echo new > /src/new.txt",
            [new RunMount { Type = RunMountType.Bind, Target = "/src", ReadOnly = false }],
            configure: r => r with { ContextDirectory = context });

        Assert.True(result.Succeeded);
        Assert.Equal("original", File.ReadAllText(Path.Combine(context, "input.txt")));
        Assert.False(File.Exists(Path.Combine(context, "new.txt")));
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("src", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bind_mount_from_another_stage_shows_that_stage_filesystem()
    {
        var build = await worker.RunAsync("mkdir /out && echo artifact > /out/app.bin");
        var stage = new List<LayerRef> { worker.BaseLayer, new(build.Layer!, build.DiffId!.Value) };
        var progress = new CollectingProgress();

        var result = await RunAsync("cat /artifacts/app.bin",
            [new RunMount { Type = RunMountType.Bind, Target = "/artifacts", From = "build", Source = "/out" }], progress,
            r => r with { Stages = new Dictionary<string, IReadOnlyList<LayerRef>> { ["build"] = stage } });

        Assert.True(result.Succeeded);
        Assert.Equal(["artifact"], progress.Lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Cache_mount_from_a_stage_starts_with_its_source_and_is_another_cache_for_another_stage()
    {
        var id = "seeded-" + Guid.NewGuid().ToString("N");
        var one = await worker.RunAsync("mkdir /seed && echo one > /seed/f");
        var two = await worker.RunAsync("mkdir /seed && echo two > /seed/f");
        IReadOnlyList<LayerRef> Stage(StepResult r) => [worker.BaseLayer, new(r.Layer!, r.DiffId!.Value)];
        RunMount Seeded() => new() { Type = RunMountType.Cache, Target = "/c", Id = id, From = "seed", Source = "/seed" };
        Func<StepRequest, StepRequest> From(StepResult r) =>
            q => q with { Stages = new Dictionary<string, IReadOnlyList<LayerRef>> { ["seed"] = Stage(r) } };
        var first = new CollectingProgress();
        var again = new CollectingProgress();
        var other = new CollectingProgress();

        await RunAsync("cat /c/f; echo written > /c/new", [Seeded()], first, From(one));
        await RunAsync("cat /c/f /c/new", [Seeded()], again, From(one));
        await RunAsync("cat /c/f; ls /c", [Seeded()], other, From(two));

        Assert.Equal(["one"], first.Lines.Select(l => l.Text));
        Assert.Equal(["one", "written"], again.Lines.Select(l => l.Text)); // an existing cache is reused as it is
        Assert.Equal(["two", "f"], other.Lines.Select(l => l.Text));       // id + stage: another stage, another cache
    }

    [Fact]
    public async Task Cache_mount_from_a_stage_without_the_source_fails_naming_it()
    {
        var stage = await worker.RunAsync("true");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => RunAsync("true",
            [new RunMount { Type = RunMountType.Cache, Target = "/c", Id = "missing-" + Guid.NewGuid().ToString("N"), From = "seed", Source = "/nowhere" }],
            configure: q => q with { Stages = new Dictionary<string, IReadOnlyList<LayerRef>> { ["seed"] = [worker.BaseLayer, new(stage.Layer!, stage.DiffId!.Value)] } }));
        Assert.Contains("source /nowhere", e.Message);
    }

    [Fact]
    public async Task Tmpfs_mount_is_writable_and_stays_out_of_the_layer()
    {
        var progress = new CollectingProgress();
        var result = await RunAsync("echo x > /scratch/f && grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
            [new RunMount { Type = RunMountType.Tmpfs, Target = "/scratch" }], progress);

        Assert.True(result.Succeeded);
        Assert.Equal(["tmpfs"], progress.Lines.Select(l => l.Text));
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("scratch", StringComparison.Ordinal));
    }

    private async Task<string> ReadUncompressedAsync(StepResult result)
    {
        await using var blob = await worker.Store.OpenAsync(result.Layer!.ParsedDigest);
        await using var tar = LayerCompressor.OpenDecompressed(blob, result.Layer.MediaType);
        using var reader = new StreamReader(tar, Encoding.Latin1);
        return await reader.ReadToEndAsync();
    }
}
