using System.Text.Json;
using BuildFarm.Cli.Engine;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// <c>buildfarm build</c> without <c>--server</c>: the home's resident engine, started on demand (one per home, even for
/// concurrent first builds), replaced when killed or of another version, stopped when idle, shared by every client.
/// Each test has its own home; its engines are stopped (and killed if need be) when it ends.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ResidentEngineTests(BusyboxFixture busybox) : IAsyncLifetime
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly HashSet<int> _engines = [];

    private BuildFarmCli Client(params (string Name, string Value)[] environment)
    {
        var cli = new BuildFarmCli(_scratch.Home);
        cli.Environment["BUILDFARM_ENGINE"] = "resident";
        foreach (var (name, value) in environment) cli.Environment[name] = value;
        return cli;
    }

    private string RecordPath => Path.Combine(_scratch.Home, "engine.json");
    private string LogPath => Path.Combine(_scratch.Home, "engine.log");

    private EngineRecord Record()
    {
        var record = EngineRecord.Read(RecordPath) ?? throw new Xunit.Sdk.XunitException($"no engine.json in {_scratch.Home}");
        _engines.Add(record.Pid);
        return record;
    }

    private int EnginesStarted() => File.ReadLines(LogPath).Count(l => l.StartsWith("buildfarm serving on unix:", StringComparison.Ordinal));

    private string SmallContext(string name, string run = "echo small > /small") =>
        _scratch.Context(name, $"FROM scratch\nADD rootfs.tar /\nRUN {run}\n");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            if (File.Exists(RecordPath)) Record();
            await new BuildFarmCli(_scratch.Home).RunAsync("serve", "--stop");
            foreach (var pid in _engines)
            {
                EngineProcess.KillNow(pid);
                await EngineProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10), CancellationToken.None);
            }
        }
        finally
        {
            _scratch.Dispose();
        }
    }

    [Fact]
    public async Task Two_concurrent_first_builds_start_one_engine()
    {
        var context = SmallContext("ctx");
        var builds = await Task.WhenAll(Client().BuildAsync(context), Client().BuildAsync(context));

        Assert.All(builds, b => Assert.True(b.ExitCode == 0, b.ToString()));
        Assert.Equal(1, EnginesStarted());
        Assert.True(EngineProcess.IsEngine(Record().Pid));
        Assert.Equal(Path.Combine(_scratch.Home, "engine.sock"), Record().Socket);
    }

    [Fact]
    public async Task A_killed_engine_is_replaced_by_the_next_build()
    {
        var context = SmallContext("ctx");
        var first = await Client().BuildAsync(context);
        Assert.True(first.ExitCode == 0, first.ToString());
        var killed = Record().Pid;

        await BuildFarmCli.ToolAsync("kill", "-KILL", killed.ToString());
        Assert.True(await EngineProcess.WaitForExitAsync(killed, TimeSpan.FromSeconds(10), CancellationToken.None));
        var second = await Client().BuildAsync(context);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Single(new PlainProgress(second.Stderr).Cached, s => s.Contains("RUN echo small")); // the same store
        Assert.NotEqual(killed, Record().Pid);
        Assert.True(EngineProcess.IsEngine(Record().Pid));
        Assert.Equal(2, EnginesStarted());
    }

    [Fact]
    public async Task An_engine_of_another_version_is_replaced_by_one_of_the_clients_version()
    {
        var context = SmallContext("ctx");
        var older = await Client(("BUILDFARM_VERSION_OVERRIDE", "0.9.0-older")).BuildAsync(context);
        Assert.True(older.ExitCode == 0, older.ToString());
        var old = Record();
        Assert.Equal("0.9.0-older", old.Version);

        var current = await Client().BuildAsync(context);

        Assert.True(current.ExitCode == 0, current.ToString());
        Assert.Contains($"replacing the build engine {old.Pid} (version 0.9.0-older)", current.Stderr);
        var version = (await Client().RunAsync("version")).Stdout.Trim();
        Assert.Equal(version, "buildfarm " + Record().Version);
        Assert.NotEqual(old.Pid, Record().Pid);
        Assert.False(EngineProcess.IsAlive(old.Pid));
    }

    [Fact]
    public async Task The_idle_timeout_stops_the_engine()
    {
        var build = await Client(("BUILDFARM_ENGINE_IDLE_TIMEOUT", "2s")).BuildAsync(SmallContext("ctx"));
        Assert.True(build.ExitCode == 0, build.ToString());
        var pid = Record().Pid;

        Assert.True(await EngineProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(60), CancellationToken.None), "the engine still runs a minute later");
        Assert.False(File.Exists(RecordPath));
        Assert.False(File.Exists(Path.Combine(_scratch.Home, "engine.sock")));
        Assert.Contains(File.ReadLines(LogPath), l => l.Contains($"engine {pid}: idle for"));
    }

    [Fact]
    public async Task Serve_stop_stops_the_engine_and_status_then_says_none_runs()
    {
        Assert.True((await Client().BuildAsync(SmallContext("ctx"))).ExitCode == 0);
        var pid = Record().Pid;
        var status = await Client().RunAsync("serve", "--status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"engine {pid} serving on unix:", status.Stdout);

        var stop = await Client().RunAsync("serve", "--stop");

        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains($"engine {pid} stopped", stop.Stdout);
        Assert.False(EngineProcess.IsAlive(pid));
        var none = await Client().RunAsync("serve", "--status");
        Assert.Equal(3, none.ExitCode);
        Assert.Contains("no engine runs", none.Stdout);
    }

    [Fact]
    public async Task Builds_from_two_processes_share_one_engine_so_an_identical_step_runs_once()
    {
        Assert.True((await Client().BuildAsync(_scratch.Context("warm", "FROM scratch\nCOPY Dockerfile /d\n"))).ExitCode == 0);
        var before = await StepsExecutedAsync();
        var context = SmallContext("ctx", run: "sleep 3 && echo shared > /shared");

        var builds = await Task.WhenAll(Client().BuildAsync(context), Client().BuildAsync(context));

        Assert.All(builds, b => Assert.True(b.ExitCode == 0, b.ToString()));
        Assert.Equal(2, await StepsExecutedAsync() - before); // ADD and RUN, once each for both builds
        Assert.Equal(1, EnginesStarted());
    }

    [Fact]
    public async Task Eight_identical_builds_at_once_through_the_engine_run_each_step_once_and_all_get_one_image_named_eight_times()
    {
        Assert.True((await Client().BuildAsync(_scratch.Context("warm", "FROM scratch\nCOPY Dockerfile /d\n"))).ExitCode == 0);
        var before = await StepsExecutedAsync();
        var context = SmallContext("ctx", run: "sleep 1 && echo shared > /shared");
        var tags = Enumerable.Range(1, 8).Select(i => $"conc:{i}").ToList();

        var builds = await Task.WhenAll(tags.Select(tag => Client().BuildAsync("-t", tag, context)));

        Assert.All(builds, b => Assert.True(b.ExitCode == 0, b.ToString()));
        Assert.Equal(2, await StepsExecutedAsync() - before); // ADD and RUN, once each for all eight builds
        var digests = builds.Select(b => System.Text.RegularExpressions.Regex.Match(b.Stderr, @"writing image (sha256:[0-9a-f]{64})").Groups[1].Value).ToList();
        Assert.All(digests, d => Assert.StartsWith("sha256:", d));
        Assert.Single(digests.Distinct());
        // Named at the same moment: every name is kept (none lost to another build's write of the image index).
        var images = await Client().RunAsync("images", "--digests", "--no-trunc");
        Assert.True(images.ExitCode == 0, images.ToString());
        Assert.All(tags, tag => Assert.Matches($@"(?m)^conc\s+{tag[5..]}\s+{digests[0]}", images.Stdout));
    }

    [Fact]
    public async Task A_build_through_the_engine_is_not_challenged_for_files_its_store_already_has()
    {
        var context = SmallContext("ctx");
        Assert.True((await Client().BuildAsync(context)).ExitCode == 0); // starts the engine (its context is read in place)
        var rootfs = await File.ReadAllBytesAsync(Path.Combine(context, "rootfs.tar"));
        using var handler = UnixSocketHandler.Create(Record().Socket);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(UnixSocketHandler.Address,
            new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        var client = new Protos.V1.BuildService.BuildServiceClient(channel);
        // A client that sends a manifest (not its folder) uploads what the store lacks: rootfs.tar is in the store then.
        var first = await StartUploadAsync(client, rootfs);
        Assert.Single(first.Missing.Digests);
        await first.Call.RequestStream.WriteAsync(new Protos.V1.BuildRequest
        {
            File = new Protos.V1.FileChunk { Digest = first.Missing.Digests[0], Data = Google.Protobuf.ByteString.CopyFrom(rootfs), Last = true },
        });
        while (await first.Call.ResponseStream.MoveNext(CancellationToken.None)
               && first.Call.ResponseStream.Current.MessageCase is not (Protos.V1.BuildResponse.MessageOneofCase.Result or Protos.V1.BuildResponse.MessageOneofCase.Error)) { }
        Assert.Equal(Protos.V1.BuildResponse.MessageOneofCase.Result, first.Call.ResponseStream.Current.MessageCase);
        first.Call.Dispose();

        var second = await StartUploadAsync(client, rootfs);

        Assert.Empty(second.Missing.Digests);
        Assert.Empty(second.Missing.Prove); // a server on TCP would ask for an HMAC of rootfs.tar
        await second.Call.RequestStream.CompleteAsync();
        second.Call.Dispose();
    }

    private static async Task<(Grpc.Core.AsyncDuplexStreamingCall<Protos.V1.BuildRequest, Protos.V1.BuildResponse> Call, Protos.V1.MissingFiles Missing)> StartUploadAsync(
        Protos.V1.BuildService.BuildServiceClient client, byte[] rootfs)
    {
        var call = client.Build();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.WriteAsync(new Protos.V1.BuildRequest
        {
            Spec = new Protos.V1.BuildSpec { Dockerfile = Google.Protobuf.ByteString.CopyFromUtf8("FROM scratch\nADD rootfs.tar /\n") },
        });
        await call.RequestStream.WriteAsync(new Protos.V1.BuildRequest
        {
            Manifest = new Protos.V1.ContextManifest
            {
                AnswersChallenges = true,
                Entries = { new Protos.V1.ContextEntry { Path = "rootfs.tar", Mode = 0x81A4, Size = rootfs.Length, Sha256 = BuildFarm.Oci.Digest.Compute(rootfs).ToString() } },
            },
        });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return (call, call.ResponseStream.Current.Missing);
    }

    [Fact]
    public async Task A_warm_build_through_the_engine_reads_the_context_in_place_and_uploads_nothing()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nCOPY data/ /data/\nRUN cat /data/a.txt\n",
            ("data/a.txt", "first\n"), ("data/b.txt", "b\n"));
        var cold = await Client().BuildAsync(context);
        Assert.True(cold.ExitCode == 0, cold.ToString());

        var warm = await Client().BuildAsync(context);

        Assert.True(warm.ExitCode == 0, warm.ToString());
        Assert.Empty(new PlainProgress(warm.Stderr).Executed);
        var log = File.ReadAllLines(LogPath);
        Assert.Equal(2, log.Count(l => l.Contains($"build context read in place: {context} (0 files uploaded)")));
        Assert.Equal(2, log.Count(l => l.Contains(", 0 context files")));
        Assert.DoesNotContain(log, l => l.Contains("publish build context"));
    }

    [Fact]
    public async Task A_changed_context_file_is_seen_by_the_next_build_through_the_engine()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nCOPY data/ /data/\nRUN cat /data/a.txt\n",
            ("data/a.txt", "first-version\n"));
        var first = await Client().BuildAsync(context);
        Assert.True(first.ExitCode == 0, first.ToString());
        File.WriteAllText(Path.Combine(context, "data", "a.txt"), "second-version\n");

        var second = await Client().BuildAsync(context);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains(new PlainProgress(second.Stderr).Executed, s => s.Contains("COPY data/"));
        Assert.Contains("second-version", second.Stderr);
        Assert.DoesNotContain("first-version", second.Stderr);
    }

    [Fact]
    public async Task A_build_through_the_engine_leaves_out_what_dockerignore_excludes()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nCOPY data/ /data/\nRUN ls /data\n",
            ("data/kept.txt", "k\n"), ("data/secret.key", "s\n"), (".dockerignore", "data/*.key\n"));

        var build = await Client().BuildAsync(context);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("kept.txt", build.Stderr);
        Assert.DoesNotContain("secret.key", build.Stderr);
        Assert.True(File.Exists(Path.Combine(context, "data", "secret.key"))); // the client's folder is read, never changed
    }

    private async Task<long> StepsExecutedAsync()
    {
        var workers = await Client().RunAsync("workers", "--server", "unix:" + Record().Socket, "--format", "json");
        Assert.True(workers.ExitCode == 0, workers.ToString());
        using var json = JsonDocument.Parse(workers.Stdout);
        return json.RootElement.EnumerateArray().Sum(w => w.GetProperty("stepsExecuted").GetInt64());
    }
}
