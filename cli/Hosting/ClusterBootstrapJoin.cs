using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Dsl;
using Akka.Management.Cluster.Bootstrap;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// Joining through Akka.Management cluster bootstrap: the node serves the management HTTP endpoint, asks the discovery
/// for the coordinators' endpoints, and joins the cluster they report, or (coordinators only) forms it when none exists
/// and it has the lowest address. Kubernetes and a local run take this same path; only the discovery differs.
/// </summary>
public static class ClusterBootstrapJoin
{
    /// <summary>The service name the contact points are looked up under (the coordinators).</summary>
    public const string ServiceName = "buildfarm-coordinator";

    public static string Hocon(FarmSettings settings, HostRole role)
    {
        var publicHost = settings.PublicHostname ?? settings.Hostname;
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
              hostname = {{Quote(publicHost)}}
              port = {{settings.ManagementPort}}
              bind-hostname = {{Quote(settings.Hostname)}}
              bind-port = {{settings.ManagementPort}}
            }
            akka.management.cluster.bootstrap {
              # only coordinators form a cluster; a worker waits until one exists and joins it
              new-cluster-enabled = {{(role == HostRole.Worker ? "off" : "on")}}
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

    /// <summary>Starts the management endpoint and the bootstrap, and completes once this node is Up.</summary>
    public static async Task JoinAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        await AkkaManagement.Get(system).Start();
        await ClusterBootstrap.Get(system).Start();
        await up.Task.WaitAsync(cancellationToken);
    }

    // A HOCON quoted string (JSON escaping is valid HOCON).
    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
