using System.Net;
using BuildFarm.Coordinator.Engine;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// The settings of one host process, validated: flags over BUILDFARM_* variables over the JSON config file over the
/// defaults of its role (see <see cref="FarmSettingsLoader"/>). The keys are the flag names: <c>listen</c>,
/// <c>hostname</c>, <c>public-hostname</c>, <c>remoting-port</c>, <c>seeds</c>, <c>join-timeout</c>, <c>slots</c>,
/// <c>health-listen</c>, <c>worker-cache-mb</c>, <c>context-cache-mb</c>, <c>snapshot-cache-mb</c>, <c>metrics-listen</c>,
/// <c>otlp-endpoint</c>, <c>quotas</c> (JSON object or <c>team=N,...</c>), <c>team-quota</c> (the flag's form of it),
/// <c>team-queue-limit</c>, <c>log-format</c>,
/// <c>tokens</c>, <c>tls-cert</c>, <c>tls-key</c>, and for cluster bootstrap <c>discovery</c>, <c>contact-points</c>,
/// <c>pod-label-selector</c>, <c>management-port</c>, <c>required-contact-points</c>.
/// </summary>
public sealed record FarmSettings
{
    /// <summary>The gRPC Build API of a coordinator (and of serve).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>The address remoting binds to.</summary>
    public required string Hostname { get; init; }

    /// <summary>The address other nodes reach this one at, when it differs from <see cref="Hostname"/> (0.0.0.0, NAT).</summary>
    public string? PublicHostname { get; init; }

    /// <summary>The remoting port; 0 picks a free one.</summary>
    public required int RemotingPort { get; init; }

    /// <summary>Seed node addresses (akka.tcp://buildfarm@HOST:PORT); empty: this node is the first seed.</summary>
    public required IReadOnlyList<string> Seeds { get; init; }

    public required TimeSpan JoinTimeout { get; init; }

    /// <summary>Steps a worker runs at once.</summary>
    public required int Slots { get; init; }

    /// <summary>The gRPC health endpoint of a worker (port 0: any free port, printed in the ready line).</summary>
    public required IPEndPoint HealthListen { get; init; }

    public required long WorkerCacheBytes { get; init; }
    public required long ContextCacheBytes { get; init; }

    /// <summary>Where Prometheus scrapes this host's metrics (<c>http://IP:PORT/metrics</c>); null: no metrics endpoint.</summary>
    public IPEndPoint? MetricsListen { get; init; }

    /// <summary>The OTLP (gRPC) collector that receives build traces; null: traces are not exported.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Running steps per team in this coordinator's worker pool.</summary>
    public TeamQuotas Quotas { get; init; } = TeamQuotas.Unlimited;

    /// <summary>Builds in flight (receiving their context or running) per team; over it a Build is RESOURCE_EXHAUSTED.</summary>
    public TeamQuotas QueueLimits { get; init; } = TeamQuotas.Unlimited;

    /// <summary>The console log: text lines, or one JSON object per line with the scopes (BuildId) of each entry.</summary>
    public HostLogFormat LogFormat { get; init; } = HostLogFormat.Text;

    /// <summary>The worker's extracted-layer snapshots kept for reuse; null: the snapshotter's default (16 GiB).</summary>
    public long? SnapshotCacheBytes { get; init; }

    /// <summary>The coordinator's tokens file (<c>TOKEN TEAM [admin]</c> per line); null: the API is open to any caller.</summary>
    public string? TokensFile { get; init; }

    /// <summary>The API's TLS certificate: a PEM file (with <see cref="TlsKey"/>) or a PKCS#12 file (.p12/.pfx, key
    /// inside; BUILDFARM_TLS_CERT_PASSWORD opens it); null: plain HTTP/2.</summary>
    public string? TlsCertificate { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificate"/>.</summary>
    public string? TlsKey { get; init; }

    /// <summary>Seeds, or cluster bootstrap over config or Kubernetes API discovery.</summary>
    public ClusterDiscovery Discovery { get; init; } = ClusterDiscovery.Seeds;

    /// <summary>The coordinators' management endpoints (HOST:PORT) for <see cref="ClusterDiscovery.Config"/>.</summary>
    public IReadOnlyList<string> ContactPoints { get; init; } = [];

    /// <summary>The coordinator pods' labels for <see cref="ClusterDiscovery.Kubernetes"/>.</summary>
    public string PodLabelSelector { get; init; } = FarmSettingsLoader.DefaultPodLabelSelector;

    /// <summary>The Akka.Management HTTP port bootstrap probes (plain HTTP: keep it inside the cluster network).</summary>
    public int ManagementPort { get; init; } = 8558;

    /// <summary>Contact points bootstrap must see before it decides to form a cluster.</summary>
    public int RequiredContactPoints { get; init; } = 1;
}
