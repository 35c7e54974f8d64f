using System.Diagnostics;

namespace BuildFarm.IntegrationTests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class CrashHygieneTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Kill_9_mid_run_leaves_no_process_and_the_next_start_no_mount_bundle_or_temp_folder()
    {
        var sleep = $"sleep {100_000 + Random.Shared.Next(100_000)}";
        var secret = Path.Combine(_scratch.Home, "..", $"secret-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(secret, "s3cr3t");
        // a secret (tmpfs), a writable bind mount (overlay) and the step's own overlay are all mounted when it dies
        var context = _scratch.Context("killed", $"""
            FROM scratch
            ADD rootfs.tar /
            RUN --mount=type=secret,id=token,target=/run/token --mount=type=bind,target=/ctx,rw echo started-sleeping && {sleep}
            """);
        using var build = _scratch.Cli.Start("build", "--progress", "plain", "--secret", $"id=token,src={secret}", context);
        build.StandardInput.Close();
        var started = new TaskCompletionSource();
        build.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("started-sleeping") == true) started.TrySetResult(); };
        build.OutputDataReceived += (_, _) => { };
        build.BeginErrorReadLine();
        build.BeginOutputReadLine();
        await started.Task.WaitAsync(TimeSpan.FromMinutes(2));
        for (var wait = Stopwatch.StartNew(); !SleepRuns(sleep) && wait.Elapsed < TimeSpan.FromSeconds(20);) await Task.Delay(20);
        Assert.True(SleepRuns(sleep), "the step's process should run before the kill");

        build.Kill(); // SIGKILL to the build process alone: no handler of ours runs
        await build.WaitForExitAsync();

        // nothing of the step keeps running, without waiting for a next start
        var clock = Stopwatch.StartNew();
        while (SleepRuns(sleep) && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50);
        Assert.False(SleepRuns(sleep), "the killed build's RUN step still runs");

        // the next start on the same home removes the rest
        var next = _scratch.Context("next", """
            FROM scratch
            ADD rootfs.tar /
            RUN echo next > /next
            """);
        var result = await _scratch.Cli.BuildAsync(next);
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.DoesNotContain(Path.GetFullPath(_scratch.Home), await File.ReadAllTextAsync("/proc/self/mountinfo"));
        var worker = Path.Combine(_scratch.Home, "worker");
        Assert.Equal("", (await BuildFarmCli.ToolAsync("runc", "--root", Path.Combine(worker, "runc"), "list", "-q")).Trim());
        foreach (var folder in new[] { Path.Combine(_scratch.Home, "tmp"), Path.Combine(worker, "tmp"), Path.Combine(worker, "bundles"), Path.Combine(worker, "s", "mnt") })
        {
            var left = Directory.Exists(folder) ? Directory.EnumerateFileSystemEntries(folder).ToList() : [];
            Assert.True(left.Count == 0, $"left in {folder}: {string.Join(", ", left)}");
        }
        var partial = Directory.EnumerateFileSystemEntries(Path.Combine(worker, "s", "layers")).Where(e => e.Contains(".tmp-") || e.Contains(".del-")).ToList();
        Assert.True(partial.Count == 0, "partial layers left: " + string.Join(", ", partial));
    }

    private static bool SleepRuns(string sleep) =>
        Process.GetProcesses().Any(p =>
        {
            try { return File.ReadAllText($"/proc/{p.Id}/cmdline").Replace('\0', ' ').Trim() == sleep; }
            catch (IOException) { return false; }
        });
}
