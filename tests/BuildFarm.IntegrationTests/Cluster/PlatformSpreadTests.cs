using BuildFarm.IntegrationTests.EndToEnd;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// Issue #15: a two-platform build on a farm of separate processes: each platform's graph runs on a worker of its own
/// at the same time (where and when from the RUN step itself, <see cref="RunSpan"/>), the arm64 one under QEMU.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PlatformSpreadTests(S3ServerFixture s3, BusyboxFixture busybox) : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly string _salt = Guid.NewGuid().ToString("N")[..10];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(5));

    public void Dispose()
    {
        _timeout.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task Two_platforms_run_on_different_workers_at_the_same_time()
    {
        await using var registry = await RegistryFixture.StartAsync();
        var baseName = $"{registry.Host}/base/busybox:multi";
        await MultiPlatformBusybox.PushAsync(_scratch, busybox.Rootfs, baseName);
        await using var cluster = await ClusterProcesses.StartAsync(s3, coordinators: 1, workers: 2, workerSlots: 2, _timeout.Token);
        var context = _scratch.Context("spread",
            $"FROM {baseName}\nARG TARGETARCH\nRUN {RunSpan.Command("$TARGETARCH", $"sleep 3; echo {_salt}; uname -m > /arch")}\n");

        var result = await cluster.StartBuild(cluster.Coordinators[0], context, "--platform", "linux/amd64,linux/arm64")
            .FinishAsync(BuildTimeout);

        Assert.True(result.Succeeded, $"{result}\n{cluster.Transcripts()}");
        var spans = result.Spans.OrderBy(s => s.Label, StringComparer.Ordinal).ToList();
        Assert.Equal(["amd64", "arm64"], spans.Select(s => s.Label));
        var workers = spans.Select(s => cluster.WorkerHolding(s.UpperDir)?.Name ?? $"no worker home holds {s.UpperDir}").ToList();
        Assert.True(workers.Distinct().Count() == 2, $"both platforms ran on {string.Join(", ", workers)}: {string.Join("; ", spans)}");
        Assert.True(spans[0].Overlaps(spans[1]), $"the platforms did not run at the same time: {string.Join("; ", spans)}");
        var raw = await BuildFarmCli.ToolAsync("skopeo", "inspect", "--raw", $"oci-archive:{await ExportAsync(cluster, context)}");
        Assert.Contains("\"architecture\":\"arm64\"", raw.Replace(" ", ""));
        await AssertWorkersAdvertiseArm64Async(cluster);
    }

    /// <summary><c>buildfarm workers --format json</c>: each worker names amd64 native and arm64 emulated.</summary>
    private async Task AssertWorkersAdvertiseArm64Async(ClusterProcesses cluster)
    {
        var listed = await new BuildFarmCli(Path.Combine(_scratch.Root, "admin")).RunAsync("workers", "--server", cluster.Coordinators[0].Api, "--format", "json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        using var workers = System.Text.Json.JsonDocument.Parse(listed.Stdout);
        Assert.Equal(2, workers.RootElement.GetArrayLength());
        foreach (var worker in workers.RootElement.EnumerateArray())
        {
            Assert.Contains("linux/amd64", worker.GetProperty("platforms").EnumerateArray().Select(p => p.GetString()));
            Assert.Contains("linux/arm64", worker.GetProperty("emulatedPlatforms").EnumerateArray().Select(p => p.GetString()));
        }
    }

    /// <summary>The same build again as an OCI archive: every step a cache hit now, the index rebuilt from the records.</summary>
    private async Task<string> ExportAsync(ClusterProcesses cluster, string context)
    {
        var archive = Path.Combine(_scratch.Root, "spread.oci.tar");
        var again = await cluster.StartBuild(cluster.Coordinators[0], context, "--platform", "linux/amd64,linux/arm64",
            "-o", $"type=oci,dest={archive}").FinishAsync(BuildTimeout);
        Assert.True(again.Succeeded, $"{again}\n{cluster.Transcripts()}");
        Assert.Empty(again.Progress.Executed);
        return archive;
    }
}
