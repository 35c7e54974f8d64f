using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using BuildFarm.Coordinator.Engine;
using BuildFarm.IntegrationTests.EndToEnd;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// A farm of real OS processes on loopback: M <c>buildfarm coordinator</c> and N <c>buildfarm worker</c> hosts, each
/// with its own BUILDFARM_HOME, one remoting certificate for the farm (BUILDFARM_REMOTING_CERT), and one shared store:
/// a fresh namespace on the real S3 server (BUILDFARM_CACHE s3://...). Nodes can be killed (SIGKILL), stopped
/// (SIGTERM) and added while it runs; disposing ends every process it started and unmounts what workers left
/// mounted under their homes, also when the test failed.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly S3ServerFixture _s3;
    private readonly List<FarmNode> _nodes = [];
    private readonly List<ClientBuild> _clients = [];
    private readonly Lock _gate = new();
    private int _coordinatorCount;
    private int _workerCount;
    private int _clientCount;

    private ClusterProcesses(S3ServerFixture s3)
    {
        _s3 = s3;
        Root = Directory.CreateTempSubdirectory("bf-cluster-").FullName;
        Namespace = $"c{Guid.NewGuid():N}";
        Certificate = Path.Combine(Root, "farm-remoting.p12");
        RemotingCertificate.LoadOrCreate(Certificate).Dispose(); // one certificate (mode 0600) for every node
    }

    /// <summary>The folder holding every node's home, the certificate and the clients' homes.</summary>
    public string Root { get; }

    /// <summary>The shared store's namespace in the test bucket: this farm's own, empty at the start.</summary>
    public string Namespace { get; }

    public string Certificate { get; }

    public string StoreSpec => $"s3://buildfarm-test?endpoint={Uri.EscapeDataString(_s3.Endpoint)}&namespace={Namespace}";

    public IReadOnlyList<FarmNode> Coordinators { get { lock (_gate) return [.. _nodes.Where(n => n.Role == FarmRole.Coordinator)]; } }
    public IReadOnlyList<FarmNode> Workers { get { lock (_gate) return [.. _nodes.Where(n => n.Role == FarmRole.Worker)]; } }
    public IReadOnlyList<FarmNode> LiveWorkers => [.. Workers.Where(w => w.IsAlive)];
    public IReadOnlyList<FarmNode> LiveCoordinators => [.. Coordinators.Where(c => c.IsAlive)];

    /// <summary>Starts the first coordinator (the seed), then the other coordinators and the workers, and waits until
    /// every one printed its ready line.</summary>
    public static async Task<ClusterProcesses> StartAsync(S3ServerFixture s3, int coordinators, int workers, int workerSlots,
        CancellationToken cancellationToken)
    {
        var cluster = new ClusterProcesses(s3);
        try
        {
            if (coordinators > 0)
            {
                await cluster.AddCoordinatorAsync(cancellationToken);
                await Task.WhenAll(Enumerable.Range(1, coordinators - 1).Select(_ => cluster.AddCoordinatorAsync(cancellationToken)));
            }
            await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => cluster.AddWorkerAsync(workerSlots, cancellationToken)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The seeds a new node is given: every live coordinator (any one that answers lets it join).</summary>
    public string Seeds => string.Join(',', LiveCoordinators.Where(c => c.Ready is not null).Select(c => c.Remoting));

    /// <summary>Starts a coordinator (the first one is the seed that joins itself) and waits for its ready line.</summary>
    public async Task<FarmNode> AddCoordinatorAsync(CancellationToken cancellationToken)
    {
        var node = LaunchCoordinator(Seeds, "--join-timeout", "30");
        await node.WaitForReadyAsync(ReadyTimeout, cancellationToken);
        return node;
    }

    /// <summary>Starts a coordinator pointed at <paramref name="seeds"/> (none: it is the first seed) without waiting for it.</summary>
    public FarmNode LaunchCoordinator(string seeds, params string[] extra)
    {
        string[] args = ["coordinator", "--listen", $"127.0.0.1:{FreeTcpPort.Next()}", "--hostname", "127.0.0.1",
            "--remoting-port", FreeTcpPort.Next().ToString(), .. extra];
        if (seeds.Length > 0) args = [.. args, "--seeds", seeds];
        return Launch(FarmRole.Coordinator, $"coordinator-{Interlocked.Increment(ref _coordinatorCount) - 1}", args);
    }

    /// <summary>Starts a worker with an empty home of its own and waits for its ready line.</summary>
    public async Task<FarmNode> AddWorkerAsync(int slots, CancellationToken cancellationToken)
    {
        var node = LaunchWorker(Seeds, "--slots", slots.ToString());
        var ready = await node.WaitForReadyAsync(ReadyTimeout, cancellationToken);
        if (ready.Slots != slots) throw new InvalidOperationException($"{node} was asked for {slots} slots and reports {ready.Slots}");
        return node;
    }

    /// <summary>Starts a worker pointed at <paramref name="seeds"/> without waiting for it (e.g. seeds that do not answer).</summary>
    public FarmNode LaunchWorker(string seeds, params string[] extra) =>
        Launch(FarmRole.Worker, $"worker-{Interlocked.Increment(ref _workerCount) - 1}",
            ["worker", "--hostname", "127.0.0.1", "--remoting-port", "0", "--health-listen", "127.0.0.1:0",
             "--worker-cache-mb", "512", "--seeds", seeds, .. extra]);

    private FarmNode Launch(FarmRole role, string name, string[] args)
    {
        var home = Path.Combine(Root, name);
        var cli = new BuildFarmCli(home);
        foreach (var (key, value) in FarmEnvironment()) cli.Environment[key] = value;
        var process = cli.Start(args);
        process.StandardInput.Close();
        var node = new FarmNode(role, name, home, new CapturedProcess(process, name));
        lock (_gate) _nodes.Add(node);
        return node;
    }

    private Dictionary<string, string> FarmEnvironment() => new()
    {
        ["BUILDFARM_CACHE"] = StoreSpec,
        ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey,
        ["BUILDFARM_REMOTING_CERT"] = Certificate,
    };

    /// <summary>kill -9 of one node: no leave, no drain, its runc children stay behind as after a crash.</summary>
    public Task Kill9Async(FarmNode node) => node.Process.KillAsync();

    /// <summary>SIGTERM (a graceful leave); returns the exit code, or fails naming the node when it does not exit in time.</summary>
    public async Task<int> StopAsync(FarmNode node, TimeSpan timeout)
    {
        await node.Process.SignalAsync("TERM");
        return await node.Process.WaitForExitAsync(timeout)
               ?? throw new TimeoutException($"{node} did not exit within {timeout.TotalSeconds:0} s of SIGTERM; it said:\n{node.Process.Transcript}");
    }

    /// <summary>Starts <c>buildfarm build --server</c> against a coordinator as its own client process (own home).</summary>
    public ClientBuild StartBuild(FarmNode coordinator, string context, params string[] extra)
    {
        var n = Interlocked.Increment(ref _clientCount);
        var home = Path.Combine(Root, $"client-{n}");
        Directory.CreateDirectory(home);
        var iid = Path.Combine(home, "iid");
        var process = new BuildFarmCli(home).Start(["build", "--progress", "plain", "--server", coordinator.Api, "--iidfile", iid, .. extra, context]);
        process.StandardInput.Close();
        var build = new ClientBuild(new CapturedProcess(process, $"client-{n}"), coordinator.Api, iid);
        lock (_gate) _clients.Add(build);
        return build;
    }

    public Task<ClientBuildResult> BuildAsync(FarmNode coordinator, string context, TimeSpan timeout) =>
        StartBuild(coordinator, context).FinishAsync(timeout);

    /// <summary><c>buildfarm workers --server API --format json</c> against a live coordinator: each worker's own counters.</summary>
    public async Task<IReadOnlyList<WorkerCounters>> WorkerCountersAsync(FarmNode? via = null, CancellationToken cancellationToken = default)
    {
        var coordinator = via ?? LiveCoordinators.FirstOrDefault() ?? throw new InvalidOperationException("no live coordinator to ask");
        var result = await new BuildFarmCli(Path.Combine(Root, "admin")).RunAsync("workers", "--server", coordinator.Api, "--format", "json");
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"buildfarm workers --server {coordinator.Api} --format json failed: {result}");
        try
        {
            return JsonSerializer.Deserialize<List<WorkerCounters>>(result.Stdout, new JsonSerializerOptions(JsonSerializerDefaults.Web))
                   ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"buildfarm workers --format json printed no JSON array of workers ({e.Message}): {result}", e);
        }
    }

    /// <summary>The counters of every live worker, once the farm lists each of them (registration may lag a start).</summary>
    public async Task<IReadOnlyList<WorkerCounters>> LiveWorkerCountersAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var live = LiveWorkers.Select(w => w.Pid).ToHashSet();
            var listed = await WorkerCountersAsync(cancellationToken: cancellationToken);
            var mine = listed.Where(c => live.Contains(c.Pid)).ToList();
            if (mine.Count == live.Count) return mine;
            if (clock.Elapsed > TimeSpan.FromSeconds(15))
                throw new InvalidOperationException(
                    $"the farm lists workers with pids [{string.Join(", ", listed.Select(c => c.Pid))}], the live workers are [{string.Join(", ", live)}]");
            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Steps executed in the whole farm since it started, summed from the live workers' own counters.</summary>
    public async Task<long> StepsExecutedAsync(CancellationToken cancellationToken = default) =>
        (await LiveWorkerCountersAsync(cancellationToken)).Sum(c => c.StepsExecuted);

    /// <summary>The worker whose home holds <paramref name="path"/> (e.g. a RUN step's overlay upper directory).</summary>
    public FarmNode? WorkerHolding(string path) =>
        Workers.FirstOrDefault(w => path.StartsWith(w.Home + "/", StringComparison.Ordinal));

    /// <summary>What every node said, for a failing assertion's message.</summary>
    public string Transcripts()
    {
        lock (_gate)
            return string.Join("\n", _nodes.Select(n => $"===== {n} {(n.IsAlive ? "running" : $"exited {n.Process.ExitCode}")}\n{Tail(n.Process.Transcript)}"));
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];

    /// <summary>Ends clients, then workers and coordinators (SIGKILL: a test that wanted a graceful stop did it itself),
    /// removes containers that killed workers left, unmounts everything under the homes and deletes the folder.</summary>
    public async ValueTask DisposeAsync()
    {
        List<ClientBuild> clients;
        List<FarmNode> nodes;
        lock (_gate)
        {
            clients = [.. _clients];
            nodes = [.. _nodes];
        }
        foreach (var client in clients) client.Dispose();
        foreach (var node in nodes.Where(n => n.IsAlive)) await node.Process.KillAsync();
        foreach (var node in nodes) node.Process.Dispose();
        foreach (var node in nodes.Where(n => n.Role == FarmRole.Worker)) await RemoveContainersAsync(node.Home);
        try { CrashLeftovers.RemoveTree(Root); }
        catch (IOException) { } // a container that would not die keeps a mount busy: the folder stays, the test result stands
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Force-deletes every container in any runc state root under a worker's home (folders named <c>runc</c>).</summary>
    private static async Task RemoveContainersAsync(string home)
    {
        if (!Directory.Exists(home)) return;
        var roots = new List<string>();
        void Find(string dir, int depth)
        {
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                if (Path.GetFileName(sub) == "runc") roots.Add(sub);
                else if (depth < 3 && (File.GetAttributes(sub) & FileAttributes.ReparsePoint) == 0) Find(sub, depth + 1);
            }
        }
        try { Find(home, 0); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        foreach (var root in roots)
        foreach (var container in Directory.EnumerateDirectories(root))
        {
            using var runc = Process.Start(new ProcessStartInfo("/usr/sbin/runc", ["--root", root, "delete", "--force", Path.GetFileName(container)])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            if (runc is null) continue;
            await runc.WaitForExitAsync();
        }
    }
}
