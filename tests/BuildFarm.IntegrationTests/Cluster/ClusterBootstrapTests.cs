using BuildFarm.IntegrationTests.Infrastructure;
using System.Text.Json;
using BuildFarm.Cli.Hosting;
using BuildFarm.Coordinator.Engine;
using BuildFarm.IntegrationTests.EndToEnd;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// Issue #14: hosts that find their cluster through Akka.Management cluster bootstrap, as on Kubernetes, with config
/// discovery in place of the Kubernetes API (the same code path; only the list of contact points comes from elsewhere).
/// Real processes on loopback, a local folder as the shared store.
/// </summary>
public sealed class ClusterBootstrapTests : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private readonly string _root = Directory.CreateTempSubdirectory("bf-bootstrap-").FullName;
    private readonly List<FarmNode> _nodes = [];
    private string Certificate => Path.Combine(_root, "farm.p12");

    public Task InitializeAsync()
    {
        RemotingCertificate.LoadOrCreate(Certificate).Dispose();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        // SIGTERM first (a graceful leave), then whatever still runs is killed by Dispose.
        foreach (var node in _nodes.Where(n => n.IsAlive)) await node.Process.SignalAsync("TERM");
        foreach (var node in _nodes) await node.Process.WaitForExitAsync(TimeSpan.FromSeconds(40));
        foreach (var node in _nodes) node.Process.Dispose();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    private FarmNode Launch(FarmRole role, string name, params string[] args)
    {
        var home = Path.Combine(_root, name);
        var cli = new BuildFarmCli(home);
        cli.Environment["BUILDFARM_CACHE"] = Path.Combine(_root, "store");
        cli.Environment["BUILDFARM_REMOTING_CERT"] = Certificate;
        var process = cli.Start(args);
        process.StandardInput.Close();
        var node = new FarmNode(role, name, home, new CapturedProcess(process, name));
        _nodes.Add(node);
        return node;
    }

    private FarmNode LaunchCoordinator(string name, int managementPort, string contactPoints, params string[] extra) =>
        Launch(FarmRole.Coordinator, name, ["coordinator", "--listen", $"127.0.0.1:{FreeTcpPort.Next()}", "--hostname", "127.0.0.1",
            "--remoting-port", FreeTcpPort.Next().ToString(), "--discovery", "config", "--contact-points", contactPoints,
            "--management-port", managementPort.ToString(), .. extra]);

    private static async Task<IReadOnlyList<string>> MembersSeenByAsync(int managementPort)
    {
        // The bootstrap route: this node's view of the cluster (up to 5 members), in Akka.Management's own JSON.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await http.GetStringAsync($"http://127.0.0.1:{managementPort}/bootstrap/seed-nodes");
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("Nodes").EnumerateArray().Select(n => Address(n.GetProperty("Node"))).Order()];

        static string Address(JsonElement a) =>
            $"{a.GetProperty("Protocol").GetString()}://{a.GetProperty("System").GetString()}@{a.GetProperty("Host").GetString()}:{a.GetProperty("Port").GetInt32()}";
    }

    private string Transcripts() => string.Join("\n\n", _nodes.Select(n => $"=== {n.Name}\n{n.Process.Transcript}"));

    [Fact]
    public async Task Three_coordinators_and_a_worker_form_one_cluster_through_bootstrap_with_config_discovery()
    {
        int[] ports = [FreeTcpPort.Next(), FreeTcpPort.Next(), FreeTcpPort.Next()];
        var contactPoints = string.Join(',', ports.Select(p => $"127.0.0.1:{p}"));

        // All three at once, none named as a seed: bootstrap decides which one forms the cluster.
        var coordinators = ports.Select((port, i) => LaunchCoordinator($"coordinator-{i}", port, contactPoints)).ToList();
        var worker = Launch(FarmRole.Worker, "worker-0", "worker", "--hostname", "127.0.0.1", "--remoting-port", "0",
            "--health-listen", "127.0.0.1:0", "--slots", "1", "--discovery", "config", "--contact-points", contactPoints,
            "--management-port", FreeTcpPort.Next().ToString());
        try
        {
            await Task.WhenAll(coordinators.Select(c => c.WaitForReadyAsync(ReadyTimeout, CancellationToken.None)));
            await worker.WaitForReadyAsync(ReadyTimeout, CancellationToken.None);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{e.Message}\n{Transcripts()}");
        }

        var expected = coordinators.Select(c => c.Remoting).Append(worker.Remoting).Order().ToList();
        foreach (var port in ports)
            Assert.Equal(expected, await MembersSeenByAsync(port));
        // The worker registered with the coordinators' pool: any coordinator's API lists it.
        var listed = await new BuildFarmCli(Path.Combine(_root, "client")).RunAsync("workers", "--server", coordinators[2].Api, "--format", "json");
        Assert.True(listed.ExitCode == 0 && listed.Stdout.Contains(worker.Ready!.Id!, StringComparison.Ordinal), $"{listed}\n{Transcripts()}");
    }

    [Fact]
    public async Task A_coordinator_whose_contact_points_never_answer_exits_2_naming_bootstrap()
    {
        var own = FreeTcpPort.Next();
        var silent = FreeTcpPort.Next(); // nobody listens there: with every contact point required, no cluster forms
        var node = LaunchCoordinator("coordinator-0", own, $"127.0.0.1:{own},127.0.0.1:{silent}", "--join-timeout", "8");

        var exit = await node.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == FarmHost.ExitJoinFailed, $"exit {exit}\n{node.Process.Transcript}");
        Assert.Contains("through cluster bootstrap", node.Process.Stderr);
    }
}
