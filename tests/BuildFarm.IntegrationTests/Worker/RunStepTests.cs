using System.Diagnostics;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class RunStepTests(WorkerFixture worker)
{
    internal const string PrepareParent =
        "mkdir -p /data/dir /data/gone && echo a > /data/keep && echo b > /data/del && echo c > /data/dir/x && echo d > /data/gone/y";

    internal const string ChangeEverything =
        "echo changed >> /data/keep && rm /data/del && rm -rf /data/dir && echo now-a-file > /data/dir" +
        " && rm -rf /data/gone && mkdir /data/gone && echo z > /data/gone/z && echo new > /data/new && rm /bin/cat";

    [Fact]
    public async Task Run_step_layer_applied_over_parent_gives_the_tree_the_command_left()
    {
        var parent = await RunOkAsync(PrepareParent, [worker.BaseLayer]);
        var chain = new List<LayerRef> { worker.BaseLayer, parent };
        var step = await RunOkAsync(ChangeEverything, chain);
        chain.Add(step);

        // what the command left, as the next step would see it (overlay of the upper dir it wrote)
        await using var view = await worker.Snapshotter.ViewAsync(chain, CancellationToken.None);
        var left = TreeListing.Of(view.RootPath);
        var applied = await worker.ExtractAsync(chain);
        try
        {
            Assert.Equal(left, TreeListing.Of(applied));
            Assert.Equal("a\nchanged\n", File.ReadAllText(Path.Combine(applied, "data/keep")));
            Assert.False(File.Exists(Path.Combine(applied, "data/del")));
            Assert.Equal("now-a-file\n", File.ReadAllText(Path.Combine(applied, "data/dir")));
            Assert.Equal(["z"], Directory.GetFileSystemEntries(Path.Combine(applied, "data/gone")).Select(Path.GetFileName));
            Assert.False(File.Exists(Path.Combine(applied, "bin/cat")));
            Assert.True(File.Exists(Path.Combine(applied, "bin/ls")));
        }
        finally { Directory.Delete(applied, recursive: true); }
    }

    [Fact]
    public async Task Run_step_whiteouts_deleted_files()
    {
        var parent = await RunOkAsync(PrepareParent, [worker.BaseLayer]);
        var step = await RunOkAsync(ChangeEverything, [worker.BaseLayer, parent]);

        var entries = await worker.ReadLayerAsync(step);
        Assert.Contains("data/.wh.del", entries.Keys);
        Assert.Contains("bin/.wh.cat", entries.Keys);
        Assert.Contains("data/gone/.wh..wh..opq", entries.Keys);
        Assert.Equal("now-a-file\n", entries["data/dir"]);
    }

    [Fact]
    public async Task Run_step_twice_gives_the_same_layer_digest()
    {
        StepRequest Epoch(StepRequest r) => r with { SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
        const string command = "mkdir -p /out/sub && echo hello > /out/sub/file && ln -s file /out/sub/link && rm /bin/ls";

        var first = await worker.RunAsync(command, configure: Epoch);
        var second = await worker.RunAsync(command, configure: Epoch);

        Assert.True(first.Succeeded);
        Assert.Equal(first.Layer!.Digest, second.Layer!.Digest);
        Assert.Equal(first.DiffId, second.DiffId);
    }

    [Fact]
    public async Task Identical_steps_running_at_once_all_succeed_with_one_layer()
    {
        StepRequest Epoch(StepRequest r) => r with { SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
        var command = $"echo {Guid.NewGuid():N} > /same";

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => worker.RunAsync(command, configure: Epoch)));

        Assert.All(results, r => Assert.True(r.Succeeded));
        Assert.Single(results.Select(r => r.Layer!.Digest).Distinct());
        Assert.True(worker.Executor.HasLocalLayer(results[0].DiffId!.Value));
        Assert.Empty(MountTable.MountPointsUnder(worker.Root));
    }

    [Fact]
    public async Task Run_step_streams_stdout_and_stderr_lines_with_timestamps()
    {
        var progress = new CollectingProgress();
        var before = DateTimeOffset.UtcNow;

        var result = await worker.RunAsync("echo out-1; echo err-1 >&2; echo out-2", output: progress);

        Assert.Equal(0, result.ExitCode);
        var stdout = progress.Lines.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Text);
        var stderr = progress.Lines.Where(l => l.Stream == OutputStream.Stderr).Select(l => l.Text);
        Assert.Equal(["out-1", "out-2"], stdout);
        Assert.Equal(["err-1"], stderr);
        Assert.All(progress.Lines, l => Assert.InRange(l.Timestamp, before, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Failing_run_step_returns_its_exit_code_and_last_output_lines()
    {
        var result = await worker.RunAsync("for i in $(seq 1 30); do echo line-$i; done; echo boom >&2; exit 3");

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Null(result.Layer);
        // stdout and stderr are separate pipes: their relative order is not defined, only each one's own order
        Assert.Contains(result.LastOutput, l => l is { Text: "boom", Stream: OutputStream.Stderr });
        Assert.Contains(result.LastOutput, l => l is { Text: "line-30", Stream: OutputStream.Stdout });
        Assert.DoesNotContain(result.LastOutput, l => l.Text == "line-1");
    }

    [Fact]
    public async Task Run_step_honours_env_user_and_a_missing_workdir()
    {
        var progress = new CollectingProgress();
        var result = await worker.RunAsync("echo \"$GREETING|$(id -u):$(id -g)|$(id -G)|$(pwd)|$HOME\"",
            configure: r => r with { Env = ["GREETING=hi there"], User = "app", WorkingDirectory = "/work/dir" }, output: progress);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("hi there|1000:1000|1000 50|/work/dir|/home/app", progress.Lines.Single().Text);
    }

    [Fact]
    public async Task Run_step_takes_numeric_uid_and_gid_without_passwd_entries()
    {
        var progress = new CollectingProgress();
        var result = await worker.RunAsync("echo $(id -u):$(id -g)", configure: r => r with { User = "4321:8765" }, output: progress);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("4321:8765", progress.Lines.Single().Text);
    }

    [Fact]
    public async Task Run_step_with_unknown_user_fails_naming_the_user()
    {
        var error = await Assert.ThrowsAsync<UserNotFoundException>(() =>
            worker.RunAsync("true", configure: r => r with { User = "ghost" }));
        Assert.Contains("ghost", error.Message);
    }

    [Fact]
    public async Task Started_step_streams_its_output_as_an_async_stream()
    {
        var running = worker.Executor.Start(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["for i in 1 2 3; do echo n$i; done"] },
        }, CancellationToken.None);

        var lines = new List<string>();
        await foreach (var line in running.Output) lines.Add(line.Text);
        var result = await running.Result;

        Assert.Equal(["n1", "n2", "n3"], lines);
        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task Exec_form_with_a_missing_binary_fails_naming_it()
    {
        var error = await Assert.ThrowsAsync<ContainerStartException>(() => worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["/no/such/tool", "arg"], ExecForm = true },
        }, null, CancellationToken.None));

        Assert.Contains("/no/such/tool", error.Message);
    }

    [Fact]
    public async Task Run_step_output_without_newlines_is_cut_into_bounded_lines()
    {
        var progress = new CollectingProgress();
        var result = await worker.RunAsync("head -c 40000 /dev/zero | tr '\\0' x; printf 'tail\\r\\n'", output: progress);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal([16384, 16384, 40000 - 2 * 16384 + 4], progress.Lines.Select(l => l.Text.Length));
        Assert.EndsWith("xtail", progress.Lines[^1].Text);
    }

    [Fact]
    public async Task Run_step_uses_the_stage_shell()
    {
        var progress = new CollectingProgress();
        var result = await worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["echo $0 $FOO"], Shell = ["/bin/echo", "via-shell"] },
        }, progress, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("via-shell echo $0 $FOO", progress.Lines.Single().Text);
    }

    [Fact]
    public async Task Run_step_exec_form_runs_without_a_shell()
    {
        var progress = new CollectingProgress();
        var result = await worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["/bin/echo", "$HOME", "a  b"], ExecForm = true },
        }, progress, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("$HOME a  b", progress.Lines.Single().Text);
    }

    [Fact]
    public async Task Run_step_heredoc_command_runs_as_a_script()
    {
        var progress = new CollectingProgress();
        var result = await worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation
            {
                Command = ["<<EOF"],
                Heredocs = [new Heredoc("EOF", "set -e\necho first\necho second > /from-heredoc\n")],
            },
        }, progress, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["first"], progress.Lines.Select(l => l.Text));
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.Equal("second\n", entries["from-heredoc"]);
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("dev", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_step_heredoc_feeds_a_command()
    {
        var result = await worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation
            {
                Command = ["cat <<EOF > /greeting"],
                Heredocs = [new Heredoc("EOF", "hello\nworld\n")],
            },
        }, null, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        var entries = await worker.ReadLayerAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.Equal("hello\nworld\n", entries["greeting"]);
    }

    [Fact]
    public async Task Run_step_mount_points_leave_nothing_in_the_layer()
    {
        var layer = await RunOkAsync("echo hi > /made-by-run && cat /etc/hosts > /dev/null && test -f /etc/resolv.conf", [worker.BaseLayer]);

        var entries = await worker.ReadLayerAsync(layer);
        Assert.Equal(["made-by-run"], entries.Keys.Where(k => k != "." && k != "").Order());
    }

    [Fact]
    public async Task Run_step_has_only_loopback_without_host_network()
    {
        var progress = new CollectingProgress();
        var result = await worker.RunAsync("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", output: progress);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["lo"], progress.Lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Run_step_without_host_network_has_loopback_up()
    {
        var progress = new CollectingProgress();
        var result = await worker.RunAsync("cat /sys/class/net/lo/flags; ip -4 addr show lo | grep -o 'inet [0-9.]*'", output: progress);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["0x9", "inet 127.0.0.1"], progress.Lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Run_step_with_host_network_sees_the_host_interfaces()
    {
        var host = File.ReadLines("/proc/net/dev").Skip(2).Select(l => l.Split(':')[0].Trim()).Order().ToList();
        var progress = new CollectingProgress();
        var result = await worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new RunOperation { Command = ["tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"], Network = NetworkMode.Host },
        }, progress, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(host, progress.Lines.Select(l => l.Text).Order());
    }

    [Fact]
    public async Task Run_step_sees_dev_proc_sys_and_tmp()
    {
        var result = await worker.RunAsync(
            "test -c /dev/null && test -c /dev/zero && test -c /dev/urandom && test -d /dev/shm && test -d /dev/pts" +
            " && test -f /proc/self/status && test -d /sys/class && ! touch /sys/x 2>/dev/null && touch /tmp/x" +
            " && head -c 4 /dev/urandom | wc -c | grep -q 4 && test \"$(hostname)\" = buildkitsandbox");

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Cancelled_run_step_stops_within_a_second_and_leaves_no_mount_or_process()
    {
        using var cts = new CancellationTokenSource();
        var progress = new CollectingProgress();
        var started = new TaskCompletionSource();
        progress.Reported += l => { if (l.Text == "started") started.TrySetResult(); };
        var marker = $"sleep {1000 + Random.Shared.Next(1000)}";

        var run = worker.RunAsync($"echo started; {marker}", output: progress, cancellationToken: cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // "started" is printed just before sleep execs: wait until the process table shows it
        for (var i = 0; i < 100 && ProcessesRunning(marker) == 0; i++) await Task.Delay(50);
        Assert.True(ProcessesRunning(marker) > 0);

        var clock = Stopwatch.StartNew();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        clock.Stop();

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.Empty(MountTable.MountPointsUnder(worker.Root));
        Assert.Equal(0, ProcessesRunning(marker));
    }

    private static int ProcessesRunning(string commandLine)
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim() == commandLine) count++;
            }
            catch (IOException) { } // exited while we looked
            catch (UnauthorizedAccessException) { }
        }
        return count;
    }

    private async Task<LayerRef> RunOkAsync(string command, IReadOnlyList<LayerRef> parents)
    {
        var result = await worker.RunAsync(command, parents);
        Assert.True(result.Succeeded, $"'{command}' exited {result.ExitCode}: {string.Join('\n', result.LastOutput.Select(l => l.Text))}");
        return new LayerRef(result.Layer!, result.DiffId!.Value);
    }
}
