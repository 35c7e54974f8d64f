using System.Diagnostics;
using BuildFarm.Worker.Execution;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class RuncExecutorTests(WorkerFixture worker)
{
    [Fact]
    public async Task New_executor_removes_containers_left_by_a_crashed_worker()
    {
        var state = Path.Combine(worker.Root, "orphans-" + Guid.NewGuid().ToString("N")[..6]);
        var bundle = Path.Combine(worker.Root, "orphan-bundle-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(bundle);
        var deadPid = Enumerable.Range(3_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
        var id = $"bf-{deadPid}-{Guid.NewGuid():N}"[..32];
        var sleep = $"/bin/sleep {2000 + Random.Shared.Next(1000)}";
        var config = RuntimeConfig.Build(new ContainerSpec { Rootfs = worker.Busybox.Directory, Args = sleep.Split(' ') });
        config["root"]!["readonly"] = true;
        await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), config.ToJsonString());
        RuncDetached(state, bundle, id);
        Assert.Contains(id, Runc("--root", state, "list", "-q"));
        // runc run -d returns once the container is started; its init execs the command a moment later
        Assert.True(await EventuallyAsync(() => Process.GetProcesses().Any(p => ReadCmdline(p.Id) == sleep)), "the container's sleep never ran");

        await new RuncExecutor(new RuncOptions(state, bundle)).RemoveOrphansAsync(CancellationToken.None);

        Assert.DoesNotContain(id, Runc("--root", state, "list", "-q"));
        Assert.True(await EventuallyAsync(() => !Process.GetProcesses().Any(p => ReadCmdline(p.Id) == sleep)), "the orphan's sleep still runs");
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(20))
            if (condition()) return true;
        return false;
    }

    private static string ReadCmdline(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>A detached container keeps the stdio it was given: hand it /dev/null and a log file, not our pipes.</summary>
    private static void RuncDetached(string state, string bundle, string id)
    {
        var log = Path.Combine(bundle, "runc.log");
        var start = new ProcessStartInfo("/bin/sh");
        foreach (var a in new[] { "-c", $"exec /usr/sbin/runc --root {state} run --detach --bundle {bundle} {id} </dev/null >/dev/null 2>{log}" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"runc run --detach: {File.ReadAllText(log)}");
    }

    private static string Runc(params string[] args)
    {
        var start = new ProcessStartInfo("/usr/sbin/runc")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"runc {string.Join(' ', args)}: {error}");
        return output;
    }
}
