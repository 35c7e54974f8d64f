using BuildFarm.Worker.Execution;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>A RUN step is contained as with BuildKit: default capabilities, seccomp, no new privileges, masked and
/// read-only /proc paths, cgroup limits; <c>--security=insecure</c> lifts all of it.</summary>
[Collection(WorkerCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunContainmentTests(WorkerFixture worker)
{
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    private const string DefaultCapabilities = "00000000a80425fb";

    [Fact]
    public async Task Run_step_has_exactly_the_default_capabilities()
    {
        var output = await OutputAsync("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status");

        Assert.Equal([$"CapPrm:\t{DefaultCapabilities}", $"CapEff:\t{DefaultCapabilities}", $"CapBnd:\t{DefaultCapabilities}"], output);
    }

    [Fact]
    public async Task Run_step_runs_with_no_new_privileges_and_a_seccomp_filter()
    {
        var output = await OutputAsync("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status");

        Assert.Equal(["NoNewPrivs:\t1", "Seccomp:\t2"], output);
    }

    [Fact]
    public async Task Run_step_cannot_mount()
    {
        var output = await OutputAsync("mkdir -p /m && mount -t tmpfs none /m 2>&1; echo rc=$?");

        Assert.NotEqual("rc=0", output[^1]);
        Assert.Contains(output, l => l.Contains("denied", StringComparison.OrdinalIgnoreCase) || l.Contains("not permitted", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Run_step_cannot_unshare_a_user_namespace()
    {
        var output = await OutputAsync("unshare -U -r id -u 2>&1; echo rc=$?");

        Assert.NotEqual("rc=0", output[^1]);
        Assert.Contains(output, l => l.Contains("not permitted", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Run_step_reads_nothing_from_proc_kcore()
    {
        var output = await OutputAsync("head -c 16 /proc/kcore 2>/dev/null | wc -c");

        Assert.Equal(["0"], output);
    }

    [Fact]
    public async Task Run_step_cannot_write_proc_sys()
    {
        // hostname is per UTS namespace: even a write that got through would not reach the host
        var output = await OutputAsync("(echo contained > /proc/sys/kernel/hostname) 2>&1; echo rc=$?; hostname");

        Assert.NotEqual("rc=0", output[^2]);
        Assert.Contains(output, l => l.Contains("Read-only file system", StringComparison.Ordinal));
        Assert.Equal("buildkitsandbox", output[^1]);
    }

    [Fact]
    public async Task Fork_bomb_stops_at_the_pids_limit()
    {
        var limited = worker.CreateExecutor(worker.Snapshotter, new ContainerLimits { Pids = 32 });
        var started = DateTime.UtcNow;

        var result = await RunAsync(limited, "i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; echo forked=$i");

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain(result.LastOutput, l => l.Text == "forked=200");
        Assert.Contains(result.LastOutput, l => l.Text.Contains("fork", StringComparison.Ordinal));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(50), "the step's children outlived it");
    }

    [Fact]
    public async Task Allocation_above_the_memory_limit_kills_the_step()
    {
        var limited = worker.CreateExecutor(worker.Snapshotter, new ContainerLimits { MemoryBytes = 64L << 20 });

        var small = await RunAsync(limited, "dd if=/dev/zero of=/dev/null bs=16M count=1");
        var large = await RunAsync(limited, "dd if=/dev/zero of=/dev/null bs=256M count=1");

        Assert.Equal(0, small.ExitCode);
        Assert.Equal(137, large.ExitCode); // SIGKILL from the OOM killer
    }

    [Fact]
    public async Task Ordinary_busybox_step_still_works()
    {
        var output = await OutputAsync(
            "mkdir -p /app/data && echo hi > /app/data/f && chown -R 1:1 /app && chmod 640 /app/data/f && mknod /app/null c 1 3"
            + " && ls -ln /app/data/f | awk '{print $1, $3, $4}' && printf 'b\\na\\n' | sort | tr '\\n' ' ' && echo && id -u && hostname");

        Assert.Equal(["-rw-r----- 1 1", "a b ", "0", "buildkitsandbox"], output);
    }

    [Fact]
    public async Task Insecure_step_runs_privileged()
    {
        var result = await worker.RunAsync(
            "grep -E '^(CapEff|Seccomp):' /proc/self/status && mkdir -p /m && mount -t tmpfs none /m && echo mounted && umount /m",
            configure: r => r with { Operation = new RunOperation { Command = [((RunOperation)r.Operation).Command[0]], Insecure = true } });

        // every capability the worker itself holds (a worker in a container may lack some)
        var workerCaps = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))["CapBnd:".Length..].Trim();
        Assert.Equal(0, result.ExitCode);
        Assert.Equal([$"CapEff:\t{workerCaps}", "Seccomp:\t0", "mounted"], result.LastOutput.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Text));
    }

    [Fact]
    public async Task Bundle_config_is_owner_only_on_a_tmpfs_and_the_step_env_reaches_no_disk_file()
    {
        var marker = $"secret-{Guid.NewGuid():N}";
        var bundles = Path.Combine(worker.Root, "b");
        var step = worker.RunAsync("sleep 2", configure: r => r with { Env = [$"TOKEN={marker}"] });
        string? config = null;
        while (!step.IsCompleted && config is null)
        {
            config = Directory.Exists(bundles)
                ? Directory.EnumerateFiles(bundles, "config.json", SearchOption.AllDirectories).FirstOrDefault()
                : null;
            if (config is null) await Task.Delay(20);
        }
        Assert.NotNull(config);
        var mode = File.GetUnixFileMode(config);
        var fileSystem = FileSystemOf(Path.GetDirectoryName(config)!);
        await Task.Delay(500); // the container is running by now: runc has written its state (and removed its exec fifo)
        var onDisk = Directory.EnumerateFiles(worker.RuncState, "*.json", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains(marker, StringComparison.Ordinal)).ToList();
        await step;

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(bundles));
        Assert.Equal("tmpfs", fileSystem);
        Assert.Empty(onDisk);
    }

    /// <summary>The file system type of the mount at exactly <paramref name="path"/>, from mountinfo; null when it is no mount point.</summary>
    private static string? FileSystemOf(string path) =>
        File.ReadLines("/proc/self/mountinfo")
            .Select(l => (Fields: l.Split(' '), Tail: l[(l.IndexOf(" - ", StringComparison.Ordinal) + 3)..].Split(' ')))
            .Where(m => m.Fields[4] == path)
            .Select(m => m.Tail[0])
            .LastOrDefault();

    private async Task<IReadOnlyList<string>> OutputAsync(string command)
    {
        var result = await worker.RunAsync(command);
        Assert.True(result.ExitCode == 0, $"'{command}' exited {result.ExitCode}: {string.Join('\n', result.LastOutput.Select(l => l.Text))}");
        return result.LastOutput.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Text).ToList();
    }

    private Task<StepResult> RunAsync(StepExecutor executor, string command) =>
        executor.ExecuteAsync(new StepRequest { Parents = [worker.BaseLayer], Operation = new RunOperation { Command = [command] } }, null, CancellationToken.None);
}
