namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Containers kept by <c>run --name</c>: <c>ps -a</c>, <c>diff</c>, <c>commit</c>, <c>rm</c>, with real runc and overlayfs.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ContainerTests(BusyboxFixture busybox) : IDisposable
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

    /// <summary>app:1: busybox, then a RUN layer that made /made.</summary>
    private async Task BuildAppAsync()
    {
        var app = _scratch.Context("app", "FROM scratch\nADD rootfs.tar /\nRUN echo made > /made\nCMD [\"sh\"]\n");
        Assert.Equal(0, (await Cli.BuildAsync("-t", "app:1", app)).ExitCode);
    }

    [Fact]
    public async Task Diff_shows_the_added_file_and_the_deleted_lower_file_and_commit_makes_them_a_layer()
    {
        await BuildAppAsync();
        var run = await MustAsync("run", "--name", "c", "app:1", "sh", "-c", "echo new > /new && rm /made && echo this-is-only-a-log");
        Assert.Contains("this-is-only-a-log", run.Stdout);

        var diff = (await MustAsync("diff", "c")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Nothing else: no mount points runc made, and no output (logs are not part of the filesystem).
        Assert.Equal(["D /made", "A /new"], diff);

        var commit = await MustAsync("commit", "-m", "one added, one deleted", "c", "img:2");
        Assert.Matches("^sha256:[0-9a-f]{64}$", commit.Stdout.Trim());
        var seen = await MustAsync("run", "img:2", "sh", "-c", "cat /new; test -e /made && echo made-present || echo made-gone");
        Assert.Equal("new\nmade-gone", seen.Stdout.Trim());

        // As docker: the committed config is the container's, so its command becomes the image's Cmd …
        Assert.Equal("[\"sh\",\"-c\",\"echo new > /new && rm /made && echo this-is-only-a-log\"]",
            (await MustAsync("inspect", "-f", "{{json .Config.Cmd}}", "img:2")).Stdout.Trim());
        // … unless --change says otherwise.
        await MustAsync("commit", "-c", "CMD [\"cat\", \"/new\"]", "-c", "ENV MARK=committed", "c", "img:3");
        Assert.Equal("new", (await MustAsync("run", "img:3")).Stdout.Trim());
        Assert.Contains("MARK=committed", (await MustAsync("inspect", "-f", "{{.Config.Env}}", "img:3")).Stdout);
        var badChange = await Cli.RunAsync("commit", "-c", "RUN rm -rf /", "c", "img:4");
        Assert.Equal(1, badChange.ExitCode);
        Assert.Contains("RUN is not supported", badChange.Stderr);

        var before = (await MustAsync("history", "app:1")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var after = (await MustAsync("history", "img:2")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(before.Length + 1, after.Length);
        Assert.Contains("one added, one deleted", after[1]);
    }

    [Fact]
    public async Task Ps_all_lists_an_exited_container_and_rm_frees_its_name()
    {
        await BuildAppAsync();
        var failed = await Cli.RunAsync("run", "--name", "keeper", "app:1", "sh", "-c", "exit 3");
        Assert.Equal(3, failed.ExitCode);
        Assert.DoesNotContain("keeper", (await MustAsync("ps")).Stdout); // not running
        var ps = (await MustAsync("ps", "-a")).Stdout;
        Assert.Contains("keeper", ps);
        Assert.Contains("Exited (3)", ps);

        var again = await Cli.RunAsync("run", "--name", "keeper", "app:1", "true");
        Assert.Equal(125, again.ExitCode);
        Assert.Contains("is already in use", again.Stderr);

        Assert.Equal("keeper", (await MustAsync("rm", "keeper")).Stdout.Trim());
        Assert.DoesNotContain("keeper", (await MustAsync("ps", "-a")).Stdout);
        await MustAsync("run", "--name", "keeper", "app:1", "true");
        var missing = await Cli.RunAsync("rm", "nobody");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No such container: nobody", missing.Stderr);
    }

    [Fact]
    public async Task Run_without_a_name_keeps_no_container()
    {
        await BuildAppAsync();
        await MustAsync("run", "app:1", "sh", "-c", "echo x > /x");
        Assert.Single((await MustAsync("ps", "-a")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // the header
    }

    [Fact]
    public async Task An_image_a_kept_container_uses_survives_rmi_and_cache_prune()
    {
        await BuildAppAsync();
        await MustAsync("run", "--name", "user", "app:1", "sh", "-c", "echo new > /new");
        var refused = await Cli.RunAsync("rmi", "app:1");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("is using its referenced image", refused.Stderr);

        var forced = (await MustAsync("rmi", "-f", "app:1")).Stdout;
        Assert.Contains("Untagged: app:1", forced);
        Assert.DoesNotContain("Deleted:", forced);
        await MustAsync("cache", "prune", "--all", "--grace", "0s");

        Assert.Equal("A /new", (await MustAsync("diff", "user")).Stdout.Trim());
        await MustAsync("commit", "user", "after:1");
        Assert.Equal("new made", (await MustAsync("run", "after:1", "sh", "-c", "cat /new /made | tr '\\n' ' '")).Stdout.Trim());
    }

    [Fact]
    public async Task Ps_shows_a_running_container_as_up_and_rm_refuses_it()
    {
        await BuildAppAsync();
        using var running = Cli.Start("run", "--name", "sleeper", "app:1", "sh", "-c", "echo started; sleep 8");
        running.StandardInput.Close();
        var stdout = running.StandardOutput.ReadToEndAsync();
        var stderr = running.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string ps;
        do
        {
            ps = (await MustAsync("ps")).Stdout;
            if (ps.Contains("sleeper")) break;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        Assert.Contains("Up ", ps);

        var refused = await Cli.RunAsync("rm", "sleeper");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("cannot remove a running container", refused.Stderr);

        await running.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(running.ExitCode == 0, await stderr);
        Assert.Contains("started", await stdout);
        Assert.Contains("Exited (0)", (await MustAsync("ps", "-a")).Stdout);
        await MustAsync("rm", "sleeper");
    }

    [Fact]
    public async Task A_committed_image_is_a_base_for_a_build_without_any_registry()
    {
        await BuildAppAsync();
        await MustAsync("run", "--name", "c", "app:1", "sh", "-c", "echo committed > /committed");
        await MustAsync("commit", "c", "local/base:2");
        var context = _scratch.Context("on-top", "FROM local/base:2\nRUN cat /committed /made > /both\nCMD [\"cat\", \"/both\"]\n");
        var build = await Cli.BuildAsync("-t", "on-top:1", context);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal("committed\nmade", (await MustAsync("run", "on-top:1")).Stdout.Trim());
    }
}
