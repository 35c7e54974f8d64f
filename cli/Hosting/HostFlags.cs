using System.CommandLine;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// The flags of the host commands (coordinator, worker, serve). They are read as text and handed to
/// <see cref="FarmSettingsLoader"/>, which checks them with the same rules as the environment and the config file.
/// </summary>
public sealed class HostFlags
{
    private readonly Dictionary<string, Option<string>> _settings = [];

    public HostFlags(HostRole role)
    {
        if (role != HostRole.Worker)
            Add("listen", "Address of the gRPC Build API and health service (IP:PORT; default 127.0.0.1:8740)");
        if (role != HostRole.Worker)
        {
            Add("tokens", "Tokens file of the Build API: \"TOKEN TEAM\" or \"TOKEN TEAM admin\" per line, re-read when it changes (default: none, the API is open)");
            Add("tls-cert", "TLS certificate of the Build API: a PEM file (with --tls-key) or a PKCS#12 .p12/.pfx (default: plain HTTP/2)");
            Add("tls-key", "PEM private key of --tls-cert");
        }
        Add("hostname", "Address Akka remoting binds to (default 127.0.0.1)");
        Add("public-hostname", "Address other nodes reach this one at, when it differs from --hostname");
        Add("remoting-port", role == HostRole.Coordinator
            ? "Akka remoting port (default 8750; 0: any free port)"
            : "Akka remoting port (default 0: any free port)");
        Add("seeds", "Seed nodes to join (akka.tcp://buildfarm@HOST:PORT or HOST:PORT, comma-separated; default BUILDFARM_SEEDS; none: this node is the first seed)");
        Add("join-timeout", "Seconds to try joining the seeds before exiting with code 2 (default 30)");
        if (role != HostRole.Coordinator)
        {
            Add("slots", "Steps this worker runs at once (default: the processor count)");
            Add("worker-cache-mb", "Size of the worker's local blob cache in front of the shared store, in MiB (default 8192)");
            Add("context-cache-mb", "Build contexts the worker keeps materialized for reuse, in MiB (default 2048)");
            Add("snapshot-cache-mb", "Extracted layer snapshots the worker keeps for reuse, in MiB (default 16384)");
        }
        Add("metrics-listen", "Address of the Prometheus metrics endpoint, http://IP:PORT/metrics (default: none)");
        if (role != HostRole.Worker)
        {
            Add("otlp-endpoint", "OTLP/gRPC collector that receives a trace per build (default OTEL_EXPORTER_OTLP_ENDPOINT; none: no traces)");
            Add("team-quota", "Running steps per team: TEAM=N, comma-separated; * for every team not listed, @local for builds without a team (default: unlimited)");
            Add("team-queue-limit", "Builds queued or running per team: TEAM=N, comma-separated, * and @local as --team-quota; over it a build is refused with RESOURCE_EXHAUSTED and a retry-after (default: unlimited)");
        }
        Add("log-format", "Console log format: text (default) or json (one JSON object per line, with the BuildId scope of build entries)");
        Add("discovery", "How to find the cluster: seeds (default), config (cluster bootstrap with --contact-points) or kubernetes (cluster bootstrap with the Kubernetes API)");
        Add("contact-points", "With --discovery config: the coordinators' management endpoints (HOST:PORT, comma-separated)");
        Add("pod-label-selector", $"With --discovery kubernetes: the coordinator pods' labels (default {FarmSettingsLoader.DefaultPodLabelSelector})");
        Add("management-port", "With cluster bootstrap: the Akka.Management HTTP port (default 8558; plain HTTP, keep it inside the cluster network)");
        Add("required-contact-points", "With cluster bootstrap: contact points to see before forming a cluster (default: all listed; kubernetes 1)");
        if (role == HostRole.Worker)
            Add("health-listen", "Address of the worker's gRPC health service (IP:PORT; default 127.0.0.1:0 = any free port, printed)");
    }

    public Option<string> Config { get; } = new("--config")
    {
        Description = "JSON file of settings (keys as the flags: {\"seeds\": \"HOST:PORT\", \"slots\": 4}); default $BUILDFARM_HOME/farm.json if present",
    };

    public IEnumerable<Option> All => [.. _settings.Values, Config];

    /// <summary>The setting flags given on this command line, by key.</summary>
    public IReadOnlyDictionary<string, string> Given(ParseResult parse) =>
        _settings.Where(s => parse.GetValue(s.Value) is not null).ToDictionary(s => s.Key, s => parse.GetValue(s.Value)!);

    private void Add(string key, string description) => _settings[key] = new Option<string>("--" + key) { Description = description };
}
