using System.Diagnostics;

namespace BuildFarm.IntegrationTests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class CancelTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Sigint_cancels_the_build_and_leaves_no_container_mount_or_temp_directory()
    {
        var context = _scratch.Context("slow", """
            FROM scratch
            ADD rootfs.tar /
            RUN echo started-sleeping && sleep 120
            """);
        using var build = _scratch.Cli.Start("build", "--progress", "plain", context);
        build.StandardInput.Close();
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var sawStart = new TaskCompletionSource();
        build.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.Contains("started-sleeping")) sawStart.TrySetResult();
        };
        build.BeginErrorReadLine();
        await sawStart.Task.WaitAsync(TimeSpan.FromMinutes(2));

        var stopwatch = Stopwatch.StartNew();
        await BuildFarmCli.ToolAsync("kill", "-INT", build.Id.ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await build.WaitForExitAsync(timeout.Token);
        build.WaitForExit(); // lets the stderr reader finish
        await stdout;

        Assert.True(build.ExitCode == 130, $"exit {build.ExitCode}\n{stderr}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"cancel took {stopwatch.Elapsed}");
        Assert.Contains("ERROR: canceled", stderr.ToString());

        var containers = await BuildFarmCli.ToolAsync("runc", "--root", Path.Combine(_scratch.Home, "worker", "runc"), "list", "-q");
        Assert.Equal("", containers.Trim());
        var mounts = await File.ReadAllTextAsync("/proc/self/mountinfo");
        Assert.DoesNotContain(_scratch.Home, mounts);
        var temp = Path.Combine(_scratch.Home, "tmp");
        Assert.True(!Directory.Exists(temp) || !Directory.EnumerateFileSystemEntries(temp).Any(),
            "left in tmp: " + string.Join(", ", Directory.Exists(temp) ? Directory.EnumerateFileSystemEntries(temp) : []));
        foreach (var workerScratch in new[] { "mnt", "bundles", "tmp" }.Select(d => Path.Combine(_scratch.Home, "worker", d)))
        {
            var left = Directory.Exists(workerScratch) ? Directory.EnumerateFileSystemEntries(workerScratch).ToList() : [];
            Assert.True(left.Count == 0, $"left in {workerScratch}: {string.Join(", ", left)}");
        }
        var snapshotMounts = Path.Combine(_scratch.Home, "worker", "s", "mnt");
        Assert.True(!Directory.Exists(snapshotMounts) || !Directory.EnumerateFileSystemEntries(snapshotMounts).Any());
    }
}
