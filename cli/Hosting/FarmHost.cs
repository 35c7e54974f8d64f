using System.Net;
using BuildFarm.Cli.Engine;
using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// One long-running host process (<c>buildfarm coordinator</c>, <c>worker</c> or <c>serve</c>): the engine node with the
/// parts of its role, a gRPC endpoint (Build API on a coordinator, health on every host), one ready line, a graceful
/// leave on SIGTERM/SIGINT (exit 0), exit 2 when it cannot join its seeds, exit 3 when the cluster removes it.
/// </summary>
public sealed class FarmHost(CliEnvironment environment, FarmSettings settings, HostRole role, LocalFarmOptions farmOptions)
{
    public const int ExitJoinFailed = 2;
    public const int ExitRemoved = 3;

    /// <summary>Running steps get this long to finish when a worker leaves: the engine waits up to this plus 10 s for the
    /// worker's drain, and the CLI gives the whole command 30 s after the signal.</summary>
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(15);

    /// <summary>serve as this home's resident engine: the API on a unix socket instead of TCP, engine.json once ready,
    /// and an optional idle timeout (see cli/Engine/README.md). Null: a plain server.</summary>
    public ResidentServeOptions? Resident { get; init; }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if ((settings.Seeds.Count > 0 || settings.Discovery != ClusterDiscovery.Seeds) && !environment.FarmRemotingCertificate)
            throw new SettingsException(
                "a node that joins seeds needs the farm's shared remoting certificate: set BUILDFARM_REMOTING_CERT to the same PKCS#12 file (with its key) on every node");
        if (settings.RemotingPort != 0 && await PortProbe.AnswersAsync(settings.Hostname, settings.RemotingPort, cancellationToken))
            throw new SettingsException($"--remoting-port {settings.RemotingPort}: another process already listens on {settings.Hostname}:{settings.RemotingPort}");
        var roles = role switch
        {
            HostRole.Coordinator => new[] { EngineRoles.Coordinator },
            HostRole.Worker => [EngineRoles.Worker],
            _ => [EngineRoles.Coordinator, EngineRoles.Worker],
        };
        // Metrics and traces exist only when something reads them.
        using var telemetry = settings.MetricsListen is not null || settings.OtlpEndpoint is not null ? new FarmTelemetry() : null;
        if (telemetry is not null) farmOptions = farmOptions with { Telemetry = telemetry };
        var bootstrap = settings.Discovery != ClusterDiscovery.Seeds ? new ClusterBootstrapJoin(settings, role) : null;
        var engineOptions = new EngineOptions
        {
            Roles = roles,
            Quotas = settings.Quotas,
            Telemetry = telemetry,
            Hostname = settings.Hostname,
            Port = settings.RemotingPort,
            SeedNodes = settings.Seeds,
            JoinTimeout = settings.JoinTimeout,
            // The one remoting setting EngineOptions has no field for; the value was checked as a host name.
            ExtraHocon = (settings.PublicHostname is { } publicHost
                ? $"akka.remote.dot-netty.tcp.public-hostname = \"{publicHost}\"\n"
                : "") + (bootstrap?.Hocon() ?? ""),
            Join = bootstrap is null ? null : bootstrap.JoinAsync,
        };
        var security = role == HostRole.Worker ? null : ApiSecurity.Load(settings, environment);
        if (Resident is { } resident) await ResidentSocket.ClaimAsync(resident.Socket, cancellationToken);
        try
        {
            return await ServeAsync(security, engineOptions, bootstrap, telemetry, cancellationToken);
        }
        finally
        {
            if (Resident is { } ended) ResidentSocket.Release(ended.Socket, environment.Home.EngineRecord);
        }
    }

    private async Task<int> ServeAsync(ApiSecurity? security, EngineOptions engineOptions, ClusterBootstrapJoin? bootstrap,
        FarmTelemetry? telemetry, CancellationToken cancellationToken)
    {
        await using var farm = await LocalFarm.StartAsync(environment, engineOptions, farmOptions, cancellationToken);

        // The endpoint answers health checks (NOT_SERVING) while the node is still joining.
        var health = new EngineHealthCheck();
        var endpoint = role == HostRole.Worker ? settings.HealthListen : settings.Listen;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Each served build's lifecycle (accepted, steps hit/miss, finished/failed/cancelled) under its BuildId scope.
        builder.Logging.AddFilter(typeof(BuildGrpcService).FullName, LogLevel.Information);
        // Logging never holds a build up: with stdout not read (a full pipe), entries beyond the queue are dropped.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o =>
            o.QueueFullMode = Microsoft.Extensions.Logging.Console.ConsoleLoggerQueueFullMode.DropWrite);
        if (settings.LogFormat == HostLogFormat.Json)
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        // A failed start (address in use) is reported as one line below, not as the host's logged stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            if (Resident is { } resident)
                k.ListenUnixSocket(resident.Socket, o => o.Protocols = HttpProtocols.Http2);
            else
                k.Listen(endpoint, o =>
                {
                    o.Protocols = HttpProtocols.Http2;
                    if (security?.Certificate is { } certificate) o.UseHttps(certificate);
                });
            // Prometheus scrapes over HTTP/1.1, on an address of its own.
            if (settings.MetricsListen is { } metrics) k.Listen(metrics, o => o.Protocols = HttpProtocols.Http1);
            // cluster bootstrap's contact point, probed over HTTP/1.1 by the other nodes' bootstrap
            if (bootstrap is not null)
                k.Listen(ManagementEndpoint(), o => o.Protocols = HttpProtocols.Http1);
        });
        if (telemetry is not null) AddTelemetry(builder.Services);
        // Health stays open (probes carry no token); the Build API goes through the token check.
        var activity = new EngineActivity(TimeProvider.System);
        builder.Services.AddSingleton(activity);
        builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = 8 << 20;
                if (Resident is not null) o.Interceptors.Add<EngineActivityInterceptor>();
            })
            .AddServiceOptions<BuildGrpcService>(o => o.Interceptors.Add<TokenInterceptor>());
        builder.Services.AddGrpcHealthChecks().AddCheck("engine", health);
        builder.Services.AddGrpcReflection();
        if (farm.IsCoordinator)
        {
            ImageTeams imageTeams;
            try { imageTeams = new ImageTeams(Path.Combine(farm.Home.Root, "image-teams.json")); }
            catch (InvalidDataException e) { throw new SettingsException(e.Message); }
            builder.Services.AddSingleton(services => new BuildGrpcService(farm.Engine, farm.Runner, farm.Store, farm.Images, farm.Scratch)
            {
                Remover = new ImageRemover(farm.Cache, farm.Images),
                Cache = farm.Cache,
                ImageTeams = imageTeams,
                QueueLimits = settings.QueueLimits,
                Logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<BuildGrpcService>(),
                CallersOwnTheStore = Resident is not null,
                // Same host, same user (checked per call): the client's context folder is read where it is.
                ReadsLocalContext = Resident is not null ? PeerCredentials.CallerIsThisUser : _ => false,
            });
            builder.Services.AddSingleton(services => security!.Interceptor(services.GetRequiredService<ILoggerFactory>()));
        }
        await using var app = builder.Build();
        if (farm.IsCoordinator) app.MapGrpcService<BuildGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        if (settings.MetricsListen is { Port: var metricsPort })
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
                context.Connection.LocalPort == metricsPort && context.Request.Path == "/metrics");
        if (bootstrap is not null)
            app.MapGet(ClusterBootstrapJoin.SeedNodesPath, bootstrap.SeedNodesAsync).RequireHost($"*:{settings.ManagementPort}");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            var flag = role == HostRole.Worker ? "--health-listen" : "--listen";
            var where = Resident is { } resident ? $"--socket {resident.Socket}" : $"{flag} {endpoint}";
            var also = (settings.MetricsListen is { } metrics ? $" or --metrics-listen {metrics}" : "")
                       + (bootstrap is null ? "" : $" or --management-port {settings.ManagementPort}");
            throw new SettingsException($"{where}{also}: cannot listen there: {e.Message}");
        }
        var bound = Resident is { } served ? "unix:" + served.Socket : BoundEndpoint(app, endpoint).ToString();

        EngineNode node;
        try
        {
            node = await farm.Engine.WaitAsync(cancellationToken);
        }
        catch (EngineJoinException e)
        {
            await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
            await app.StopAsync(CancellationToken.None);
            return ExitJoinFailed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await app.StopAsync(CancellationToken.None);
            return 0; // asked to stop before it joined: nothing to leave
        }
        health.Up();
        // The ready line says "auth open" in any case; beyond loopback an open API is worth a warning of its own.
        if (security is { TokensFile: null } && Resident is null && !IPAddress.IsLoopback(BoundEndpoint(app, endpoint).Address))
            await Console.Error.WriteLineAsync("WARNING: no tokens file: any caller that reaches the API may build, watch and cancel (--tokens FILE)");
        if (farm.Worker is { } worker)
        {
            // What this worker's RUN steps can run, and why an emulator is missing: said once, before it takes work.
            var offered = worker.Platforms.Platforms.Select(p => p.Emulated ? $"{p.Platform} (emulated: {p.Emulator})" : p.Platform);
            await Console.Error.WriteLineAsync($"buildfarm worker platforms: {string.Join(", ", offered)}");
            foreach (var problem in worker.Platforms.Problems) await Console.Error.WriteLineAsync($"WARNING: platforms: {problem}");
        }
        Console.WriteLine(ReadyLine(farm, node, bound, security));
        if (Resident is { } ready)
        {
            // Only this user may build through it (the engine runs RUN steps as root when the user is root).
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ready.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            new EngineRecord(Environment.ProcessId, EngineVersion.Of(environment), ready.Socket, DateTimeOffset.UtcNow)
                .Write(environment.Home.EngineRecord);
        }

        // SIGTERM/SIGINT reach both the command's token and the web host's lifetime: either one means leave.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var onStop = stop.Token.Register(() => asked.TrySetResult());
        var idle = Resident is { IdleTimeout: { } timeout }
            ? new EngineIdleWatch(activity, farm.IsCoordinator ? app.Services.GetRequiredService<BuildGrpcService>() : null, timeout).WaitAsync(stop.Token)
            : Task.Delay(Timeout.Infinite, stop.Token);
        var first = await Task.WhenAny(node.Ended, asked.Task, idle);
        if (first == idle && idle.IsCompletedSuccessfully)
            await Console.Error.WriteLineAsync($"engine {Environment.ProcessId}: idle for {Resident!.IdleTimeout}: stopping");
        // Clients stop finding it before it leaves.
        if (Resident is not null) EngineRecord.DeleteIfOwnedBy(environment.Home.EngineRecord, Environment.ProcessId);
        health.Down();
        if (first == node.Ended && node.Ended.Result is { Requested: false } end)
        {
            await Console.Error.WriteLineAsync($"ERROR: {RoleName} {Environment.ProcessId} is no longer in the cluster: {end.Reason}");
            await app.StopAsync(CancellationToken.None);
            return ExitRemoved;
        }
        await farm.LeaveAsync(Drain, CancellationToken.None);
        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    /// <summary>Prometheus reads the farm's meter; the OTLP exporter sends the build traces (batched, flushed at exit).</summary>
    private void AddTelemetry(IServiceCollection services)
    {
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("buildfarm-" + RoleName, serviceInstanceId: $"{Environment.MachineName}/{Environment.ProcessId}"));
        if (settings.MetricsListen is not null)
            otel.WithMetrics(m => m.AddMeter(FarmMetrics.MeterName).AddPrometheusExporter());
        if (settings.OtlpEndpoint is { } otlp)
            otel.WithTracing(t => t.AddSource(FarmTelemetry.SourceName).AddOtlpExporter(o =>
            {
                o.Endpoint = otlp;
                o.Protocol = OtlpExportProtocol.Grpc;
                o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 1000; // a build's trace shows up within a second
            }));
    }

    // The management port on the remoting bind address (a host name binds every address).
    private IPEndPoint ManagementEndpoint() =>
        new(IPAddress.TryParse(settings.Hostname, out var ip) ? ip : IPAddress.Any, settings.ManagementPort);

    private string RoleName => role switch { HostRole.Coordinator => "coordinator", HostRole.Worker => "worker", _ => "server" };

    private string ReadyLine(LocalFarm farm, EngineNode node, string bound, ApiSecurity? security)
    {
        var guard = security is null ? "" : " " + security.ReadyWords;
        var remoting = Akka.Cluster.Cluster.Get(node.System).SelfAddress.ToString();
        return role switch
        {
            HostRole.Coordinator => $"buildfarm coordinator ready: api {bound} remoting {remoting}{guard}",
            HostRole.Worker => $"buildfarm worker ready: id {farm.Worker!.Id} slots {farm.Worker.Slots} health {bound} remoting {remoting}",
            // serve's line as before its split (scripts and tests wait for "serving on").
            _ => $"buildfarm serving on {bound} (store {farm.Home.Root}) remoting {remoting}{guard}",
        };
    }

    // Port 0 binds any free port: the ready line names the one Kestrel got.
    private static IPEndPoint BoundEndpoint(WebApplication app, IPEndPoint asked)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) ? new IPEndPoint(asked.Address, uri.Port) : asked;
    }
}
