using System.CommandLine;
using System.Net;
using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm serve</c>: coordinator and worker in one process, serving the Build API over gRPC (h2c).</summary>
public static class ServeCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var listen = new Option<string>("--listen") { Description = "Address to serve the gRPC API on (HOST:PORT)", DefaultValueFactory = _ => "127.0.0.1:8740" };
        var blobCache = new Option<long>("--worker-cache-mb")
        {
            Description = "Size of the worker's local blob cache in front of a remote store, in MiB", DefaultValueFactory = _ => 8192,
        };
        var contextCache = new Option<long>("--context-cache-mb")
        {
            Description = "Build contexts the worker keeps materialized for reuse, in MiB", DefaultValueFactory = _ => 2048,
        };
        var allowInsecure = new Option<string[]>("--allow-insecure-entitlement")
        {
            Description = "Entitlements builds may be granted (security.insecure: RUN --security=insecure runs privileged)",
        };
        var limits = new RunLimitOptions();
        var command = new Command("serve", "Run a build server (coordinator + worker) with the gRPC Build API") { listen, blobCache, contextCache, allowInsecure };
        foreach (var option in limits.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var address = parse.GetValue(listen)!;
            var colon = address.LastIndexOf(':');
            if (colon <= 0 || !IPAddress.TryParse(address[..colon].Trim('[', ']'), out var ip) || !int.TryParse(address[(colon + 1)..], out var port))
            {
                await Console.Error.WriteLineAsync($"ERROR: --listen {address}: expected IP:PORT");
                return 1;
            }
            foreach (var (option, value) in new[] { (blobCache, parse.GetValue(blobCache)), (contextCache, parse.GetValue(contextCache)) })
            {
                if (value is > 0 and <= long.MaxValue >> 20) continue;
                await Console.Error.WriteLineAsync($"ERROR: {option.Name} {value}: expected a positive number of MiB");
                return 1;
            }
            var allowed = parse.GetValue(allowInsecure) ?? [];
            if (allowed.FirstOrDefault(a => !Coordinator.Builds.Entitlements.Known.Contains(a)) is { } unknown)
            {
                await Console.Error.WriteLineAsync($"ERROR: --allow-insecure-entitlement {unknown}: unknown entitlement (known: {string.Join(", ", Coordinator.Builds.Entitlements.Known)})");
                return 1;
            }
            Worker.Execution.ContainerLimits runLimits;
            try { runLimits = limits.Parse(parse); }
            catch (UsageException e)
            {
                await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                return 1;
            }
            // Workers get each build's context from the store by digest, never from this host's folder.
            var farmOptions = new LocalFarmOptions(PublishContexts: true, WorkerBlobCacheBytes: parse.GetValue(blobCache) << 20,
                WorkerContextBytes: parse.GetValue(contextCache) << 20)
            {
                RunLimits = runLimits,
                EntitlementsAllowed = allowed,
            };
            await using var farm = await LocalFarm.StartAsync(environment, new EngineOptions(), farmOptions, cancellationToken);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(k => k.Listen(ip, port, o => o.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 8 << 20);
            builder.Services.AddSingleton(new BuildGrpcService(farm.Runner, farm.Store, farm.Images, farm.Scratch));
            await using var app = builder.Build();
            app.MapGrpcService<BuildGrpcService>();
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"buildfarm serving on {ip}:{port} (store {farm.Home.Root})");
            // Ends on Ctrl+C/SIGTERM (the host's own handler) or when the command is canceled.
            try
            {
                await app.WaitForShutdownAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await app.StopAsync(CancellationToken.None);
            }
            return 0;
        });
        return command;
    }
}
