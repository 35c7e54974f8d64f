using BuildFarm.IntegrationTests.Infrastructure;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm coordinator` and `buildfarm worker` processes, each with its own <c>--metrics-listen</c>: each
/// endpoint shows what happened in its own process.</summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ClusterMetricsTests(BusyboxFixture busybox) : IDisposable
{
    private static readonly TimeSpan Startup = TimeSpan.FromMinutes(1);
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();


    private BuildFarmCli Node(string name) => TestFarmNode.Create(_scratch.Root, name);

    [GeneratedRegex(@"^(?<name>[a-z_]+?)(_total)?(\{(?<labels>[^}]*)\})? (?<value>[0-9.eE+-]+)")]
    private static partial Regex Sample();

    private static double Sum(string metrics, string name, string labelPart = "") =>
        metrics.Split('\n').Select(line => Sample().Match(line))
            .Where(m => m.Success && m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(labelPart))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [Fact]
    public async Task The_worker_and_the_coordinator_each_show_their_own_metrics()
    {
        var (api, remoting, coordinatorMetrics, workerMetrics) = (FreeTcpPort.Next(), FreeTcpPort.Next(), FreeTcpPort.Next(), FreeTcpPort.Next());
        await using var coordinator = HostProcess.Start(Node("coordinator"), "buildfarm coordinator ready:", "coordinator",
            "--listen", $"127.0.0.1:{api}", "--remoting-port", remoting.ToString(), "--metrics-listen", $"127.0.0.1:{coordinatorMetrics}",
            "--team-quota", "*=1");
        await coordinator.ReadyAsync(Startup);
        await using var worker = HostProcess.Start(Node("worker"), "buildfarm worker ready:", "worker", "--seeds", $"127.0.0.1:{remoting}",
            "--slots", "2", "--metrics-listen", $"127.0.0.1:{workerMetrics}");
        await worker.ReadyAsync(Startup);
        var context = _scratch.Context("ctx", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /id\n");

        var build = await new BuildFarmCli(Path.Combine(_scratch.Root, "client")).BuildAsync("--server", $"127.0.0.1:{api}", context);

        Assert.True(build.ExitCode == 0, $"{build}\n--- coordinator\n{coordinator}\n--- worker\n{worker}");
        using var http = new HttpClient();
        var onWorker = await http.GetStringAsync($"http://127.0.0.1:{workerMetrics}/metrics");
        var onCoordinator = await http.GetStringAsync($"http://127.0.0.1:{coordinatorMetrics}/metrics");
        Assert.Equal(2, Sum(onWorker, "buildfarm_steps_executed", "team=\"local\""));
        Assert.True(Sum(onWorker, "buildfarm_store_read_bytes") > 0, onWorker);
        Assert.True(Sum(onWorker, "buildfarm_store_written_bytes") > 0, onWorker);
        Assert.Equal(0, Sum(onWorker, "buildfarm_worker_executing"));
        Assert.Equal(0, Sum(onCoordinator, "buildfarm_steps_executed"));
        Assert.Equal(2, Sum(onCoordinator, "buildfarm_pool_worker_slots"));
        Assert.Equal(2, Sum(onCoordinator, "buildfarm_step_queue_wait_seconds_count", "team=\"local\""));
    }
}
