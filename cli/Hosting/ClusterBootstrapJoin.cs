using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// Joining through Akka.Management cluster bootstrap: the node asks the discovery for the coordinators' management
/// endpoints, probes them, and joins the cluster they report, or (coordinators only) forms it when none exists and it
/// has the lowest address. Kubernetes and a local run take this same path; only the discovery differs.
/// The management endpoint (<c>GET /bootstrap/seed-nodes</c>) is served by the host's own Kestrel, not by
/// AkkaManagement.Start(): Akka.Http.Shim 1.5.73 calls a Ceen.Httpd 0.9.9 method that 0.9.10, the only Ceen.Httpd on
/// NuGet, no longer has (MissingMethodException at start). The answer is the library's own type and serializer.
/// </summary>
public sealed class ClusterBootstrapJoin(FarmSettings settings, HostRole role)
{
    /// <summary>The service name the contact points are looked up under (the coordinators).</summary>
    public const string ServiceName = "buildfarm-coordinator";

    public const string SeedNodesPath = "/bootstrap/seed-nodes";

    private readonly TaskCompletionSource<ActorSystem> _system = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _wasUp;

    /// <summary>The address other nodes probe this one at (what the discovery lists for it).</summary>
    public Uri SelfContactPoint => new($"http://{settings.PublicHostname ?? settings.Hostname}:{settings.ManagementPort}/");

    public string Hocon()
    {
        var discovery = settings.Discovery switch
        {
            ClusterDiscovery.Config => $$"""
                akka.discovery.method = config
                akka.discovery.config.services.{{ServiceName}}.endpoints = [{{string.Join(", ", settings.ContactPoints.Select(Quote))}}]
                # several nodes of one machine differ by port, so discovered ports are taken as they are
                akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port = false
                """,
            ClusterDiscovery.Kubernetes => $$"""
                akka.discovery.method = kubernetes-api
                # the package's defaults, stated: its reference configuration is not loaded before the method is chosen
                akka.discovery.kubernetes-api {
                  class = "Akka.Discovery.KubernetesApi.KubernetesApiServiceDiscovery, Akka.Discovery.KubernetesApi"
                  api-ca-path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
                  api-token-path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
                  api-service-host-env-name = "KUBERNETES_SERVICE_HOST"
                  api-service-port-env-name = "KUBERNETES_SERVICE_PORT"
                  pod-namespace-path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
                  pod-namespace = "<pod-namespace>"
                  all-namespaces = false
                  pod-domain = "cluster.local"
                  use-raw-ip = true
                  container-name = ""
                  pod-label-selector = {{Quote(settings.PodLabelSelector)}}
                }
                akka.management.cluster.bootstrap.contact-point-discovery.port-name = management
                """,
            _ => throw new InvalidOperationException($"{settings.Discovery}: not a bootstrap discovery"),
        };
        return $$"""
            akka.management.http {
              hostname = {{Quote(settings.PublicHostname ?? settings.Hostname)}}
              port = {{settings.ManagementPort}}
            }
            akka.management.cluster.bootstrap {
              # only coordinators form a cluster; a worker waits until one exists and joins it
              new-cluster-enabled = {{(role == HostRole.Worker ? "off" : "on")}}
              contact-point.fallback-port = {{settings.ManagementPort}}
              contact-point-discovery {
                service-name = {{ServiceName}}
                required-contact-point-nr = {{settings.RequiredContactPoints}}
                stable-margin = 3s
                # workers are not contact points, so they could never hear from all of them
                contact-with-all-contact-points = {{(role == HostRole.Worker ? "false" : "true")}}
              }
            }
            {{discovery}}
            """;
    }

    /// <summary>Starts the bootstrap and completes once this node is Up.</summary>
    public async Task JoinAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(system).RegisterOnMemberUp(() =>
        {
            _wasUp = true;
            up.TrySetResult();
        });
        var bootstrap = ClusterBootstrap.Get(system);
        // Hands bootstrap its own contact point (what AkkaManagement.Start would do); the routes it returns are not used.
        bootstrap.Routes(ManagementRouteProviderSettings.Create(SelfContactPoint, readOnly: true));
        _system.TrySetResult(system);
        await bootstrap.Start();
        await up.Task.WaitAsync(cancellationToken);
    }

    /// <summary>GET /bootstrap/seed-nodes: this node's view of the cluster, as HttpClusterBootstrapRoutes answers it.</summary>
    public async Task SeedNodesAsync(HttpContext context)
    {
        if (!_system.Task.IsCompleted)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable; // the actor system is still starting
            return;
        }
        var cluster = Cluster.Get(_system.Task.Result);
        // Before it joins, a node's own member reads as Removed: it answers then with no seed nodes (that answer is what
        // lets the lowest-addressed contact point form the cluster); once it was Up, Removed means gone.
        var leaving = cluster.SelfMember.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving
                      || (cluster.SelfMember.Status == MemberStatus.Removed && _wasUp);
        if (leaving)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(5)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToList();
        var json = JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(cluster.SelfMember.UniqueAddress.Address, [.. members]));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    // A HOCON quoted string (JSON escaping is valid HOCON).
    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
