using BuildFarm.IntegrationTests.Infrastructure;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm coordinator` and `buildfarm worker` as separate processes, each with its own home, sharing one
/// store (a local folder) and one remoting certificate: the farm on many machines, on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ClusterHostTests(BusyboxFixture busybox) : IDisposable
{
    private static readonly TimeSpan Startup = TimeSpan.FromMinutes(1);
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();


    private BuildFarmCli Node(string name) => TestFarmNode.Create(_scratch.Root, name);

    private async Task<(HostProcess Host, int Api, int Remoting)> StartCoordinatorAsync()
    {
        var (api, remoting) = (FreeTcpPort.Next(), FreeTcpPort.Next());
        var host = HostProcess.Start(Node("coordinator"), "buildfarm coordinator ready:",
            "coordinator", "--listen", $"127.0.0.1:{api}", "--remoting-port", remoting.ToString());
        await host.ReadyAsync(Startup);
        return (host, api, remoting);
    }

    private static async Task<HostProcess> StartWorkerAsync(BuildFarmCli node, int seedPort, params string[] more)
    {
        var host = HostProcess.Start(node, "buildfarm worker ready:", ["worker", "--seeds", $"127.0.0.1:{seedPort}", .. more]);
        await host.ReadyAsync(Startup);
        return host;
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(int port)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        return response.Status;
    }

    [Fact]
    public async Task Coordinator_and_worker_processes_build_a_Dockerfile_with_COPY_and_RUN_through_the_server()
    {
        var (coordinator, api, remoting) = await StartCoordinatorAsync();
        await using var _ = coordinator;
        await using var worker = await StartWorkerAsync(Node("worker"), remoting, "--slots", "2");
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nCOPY note.txt /note.txt\nRUN cat /note.txt && echo ran-on-a-worker\n",
            ("note.txt", "copied-through-the-store"));

        var build = await new BuildFarmCli(Path.Combine(_scratch.Root, "client")).BuildAsync("--server", $"127.0.0.1:{api}", "-t", "clustered", context);

        Assert.True(build.ExitCode == 0, $"{build}\n--- coordinator\n{coordinator}\n--- worker\n{worker}");
        Assert.Contains("copied-through-the-store", build.Stderr);
        Assert.Contains("ran-on-a-worker", build.Stderr);
        // The worker had the context from the store, in its own home; the coordinator runs no steps.
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(Path.Combine(_scratch.Root, "worker", "worker", "ctx")));
        Assert.False(Directory.Exists(Path.Combine(_scratch.Root, "coordinator", "worker", "ctx")));
    }

    [Fact]
    public async Task Workers_counts_the_steps_the_worker_executed_as_the_build_reports_them()
    {
        var (coordinator, api, remoting) = await StartCoordinatorAsync();
        await using var _ = coordinator;
        await using var worker = await StartWorkerAsync(Node("worker"), remoting);
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN echo one > /one\nRUN echo two > /two\n");
        var build = await new BuildFarmCli(Path.Combine(_scratch.Root, "client")).BuildAsync("--server", $"127.0.0.1:{api}", context);
        Assert.True(build.ExitCode == 0, build.ToString());
        var executed = new PlainProgress(build.Stderr).Executed.Count;

        // The worker reports its own counter with its status: wait for the report that follows the build.
        long counted = -1;
        var clock = Stopwatch.StartNew();
        while (counted != executed && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var listed = await _scratch.Cli.RunAsync("workers", "--server", $"127.0.0.1:{api}", "--format", "json");
            Assert.True(listed.ExitCode == 0, listed.ToString());
            counted = JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray().Sum(w => w.GetProperty("stepsExecuted").GetInt64());
            if (counted != executed) await Task.Delay(200);
        }

        Assert.Equal(3, executed);
        Assert.Equal(executed, counted);
    }

    [Fact]
    public async Task Workers_as_json_lists_the_worker_that_joined_with_its_pid_and_slots()
    {
        var (coordinator, api, remoting) = await StartCoordinatorAsync();
        await using var _ = coordinator;
        await using var worker = await StartWorkerAsync(Node("worker"), remoting, "--slots", "3");

        JsonElement[] workers = [];
        var clock = Stopwatch.StartNew();
        while (workers.Length == 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) // registration is a message after the ready line
        {
            var listed = await _scratch.Cli.RunAsync("workers", "--server", $"127.0.0.1:{api}", "--format", "json");
            Assert.True(listed.ExitCode == 0, listed.ToString());
            workers = JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray().ToArray();
        }

        var listedWorker = Assert.Single(workers);
        Assert.Equal(worker.Id, listedWorker.GetProperty("pid").GetInt32());
        Assert.Equal(3, listedWorker.GetProperty("slots").GetInt32());
        Assert.Equal(0, listedWorker.GetProperty("running").GetInt32());
        Assert.StartsWith("akka.ssl.tcp://buildfarm@127.0.0.1:", listedWorker.GetProperty("address").GetString());
        foreach (var key in new[] { "id", "stepsExecuted", "localCacheBytes" })
            Assert.True(listedWorker.TryGetProperty(key, out var _), key);
    }

    [Fact]
    public async Task Workers_names_the_server_when_no_coordinator_answers_there()
    {
        var port = FreeTcpPort.Next();

        var result = await _scratch.Cli.RunAsync("workers", "--server", $"127.0.0.1:{port}");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"ERROR: 127.0.0.1:{port}: no coordinator answers there", result.Stderr);
    }

    [Fact]
    public async Task A_worker_whose_seed_does_not_answer_exits_2_naming_the_seed_within_the_join_timeout()
    {
        var deadSeed = FreeTcpPort.Next();
        var clock = Stopwatch.StartNew();
        await using var worker = HostProcess.Start(Node("worker"), "buildfarm worker ready:",
            "worker", "--seeds", $"127.0.0.1:{deadSeed}", "--join-timeout", "4");

        var exit = await worker.ExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exit == 2, $"exit {exit?.ToString() ?? "none within 30 s"}\n{worker}");
        Assert.Contains($"no answer from seed akka.ssl.tcp://buildfarm@127.0.0.1:{deadSeed}", worker.Stderr);
        Assert.Single(worker.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_worker_still_joining_answers_health_checks_NOT_SERVING()
    {
        var healthPort = FreeTcpPort.Next();
        await using var worker = HostProcess.Start(Node("worker"), "buildfarm worker ready:",
            "worker", "--seeds", $"127.0.0.1:{FreeTcpPort.Next()}", "--join-timeout", "60", "--health-listen", $"127.0.0.1:{healthPort}");

        HealthCheckResponse.Types.ServingStatus? status = null;
        var clock = Stopwatch.StartNew();
        while (status is null && clock.Elapsed < Startup && !worker.HasExited)
        {
            try { status = await HealthAsync(healthPort); }
            catch (Grpc.Core.RpcException) { await Task.Delay(100); } // not listening yet
        }

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, status);
    }

    [Fact]
    public async Task A_ready_coordinator_and_worker_answer_health_checks_SERVING()
    {
        var (coordinator, api, remoting) = await StartCoordinatorAsync();
        await using var _ = coordinator;
        var healthPort = FreeTcpPort.Next();
        await using var worker = await StartWorkerAsync(Node("worker"), remoting, "--health-listen", $"127.0.0.1:{healthPort}");

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await HealthAsync(api));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await HealthAsync(healthPort));
    }

    [Fact]
    public async Task Sigterm_makes_the_worker_and_the_coordinator_leave_and_exit_0()
    {
        var (coordinator, _, remoting) = await StartCoordinatorAsync();
        await using var __ = coordinator;
        await using var worker = await StartWorkerAsync(Node("worker"), remoting);

        await worker.SignalAsync("TERM");
        var workerExit = await worker.ExitAsync(TimeSpan.FromSeconds(40));
        await coordinator.SignalAsync("TERM");
        var coordinatorExit = await coordinator.ExitAsync(TimeSpan.FromSeconds(40));

        Assert.True(workerExit == 0, $"worker exit {workerExit}\n{worker}");
        Assert.True(coordinatorExit == 0, $"coordinator exit {coordinatorExit}\n{coordinator}");
        Assert.Contains("left with 0 running steps", coordinator.Stdout); // the pool saw the worker go, not vanish
    }

    [Fact]
    public async Task A_worker_cut_off_from_its_only_coordinator_is_downed_and_exits_3()
    {
        // Split-brain resolution (keep-majority) keeps the side with the lowest address when both sides are one node:
        // the worker gets the higher port, so it is the one that downs itself.
        var ports = new[] { FreeTcpPort.Next(), FreeTcpPort.Next() }.Order().ToArray();
        var api = FreeTcpPort.Next();
        await using var coordinator = HostProcess.Start(Node("coordinator"), "buildfarm coordinator ready:",
            "coordinator", "--listen", $"127.0.0.1:{api}", "--remoting-port", ports[0].ToString());
        await coordinator.ReadyAsync(Startup);
        await using var worker = await StartWorkerAsync(Node("worker"), ports[0], "--remoting-port", ports[1].ToString());

        await coordinator.KillAsync(); // no leave: the worker only sees it go unreachable
        var exit = await worker.ExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 3, $"exit {exit?.ToString() ?? "none within 60 s"}\n{worker}");
        Assert.Contains("is no longer in the cluster", worker.Stderr);
    }

    [Fact]
    public async Task A_coordinator_on_a_remoting_port_that_is_taken_refuses_to_start_naming_the_port()
    {
        // Remoting binds with address reuse: without the check a second node would share the port with the first.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await Node("coordinator").RunAsync("coordinator", "--listen", $"127.0.0.1:{FreeTcpPort.Next()}", "--remoting-port", port.ToString());

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ERROR: --remoting-port {port}: another process already listens on 127.0.0.1:{port}", result.Stderr.Trim());
    }

    [Fact]
    public async Task A_worker_with_seeds_and_no_farm_certificate_refuses_to_start()
    {
        var node = Node("worker");
        node.Environment.Remove("BUILDFARM_REMOTING_CERT");

        var result = await node.RunAsync("worker", "--seeds", "127.0.0.1:8750");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("set BUILDFARM_REMOTING_CERT", result.Stderr);
    }
}
