using System.Globalization;
using System.Net;
using BuildFarm.Coordinator.Engine;
using Microsoft.Extensions.Configuration;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// Builds a host's <see cref="FarmSettings"/> with Microsoft.Extensions.Configuration: the JSON config file
/// (<c>--config</c>, else $BUILDFARM_HOME/farm.json when present), then BUILDFARM_* variables (from the
/// <see cref="CliEnvironment"/> snapshot, e.g. BUILDFARM_SEEDS), then flags; later sources win. Every value is checked
/// and a bad one is a <see cref="SettingsException"/> naming the value and its source.
/// </summary>
public sealed class FarmSettingsLoader
{
    public const string EnvironmentPrefix = "BUILDFARM_";

    /// <summary>The setting keys (the flag names without dashes in front); JSON files may use only these.</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        "listen", "hostname", "public-hostname", "remoting-port", "seeds", "join-timeout", "slots", "health-listen",
        "worker-cache-mb", "context-cache-mb", "snapshot-cache-mb", "metrics-listen", "otlp-endpoint", "quotas", "team-quota",
        "team-queue-limit", "log-format",
        "tokens", "tls-cert", "tls-key",
        "discovery", "contact-points", "pod-label-selector", "management-port", "required-contact-points",
    ];

    public const string DefaultPodLabelSelector = "app.kubernetes.io/name=buildfarm,app.kubernetes.io/component=coordinator";

    /// <summary>In <c>quotas</c>: the limit of every team not listed.</summary>
    public const string DefaultTeam = "*";

    /// <summary>In <c>quotas</c>: builds without a team (local, unauthenticated API); unlimited unless given.</summary>
    public const string LocalTeam = "@local";

    private readonly IConfigurationRoot _configuration;
    private readonly string? _file;

    private FarmSettingsLoader(IConfigurationRoot configuration, string? file)
    {
        _configuration = configuration;
        _file = file;
    }

    /// <param name="flags">The flags given on the command line, by key (flags not given are absent).</param>
    /// <param name="configFile">--config, when given: it must exist.</param>
    public static FarmSettings Load(CliEnvironment environment, HostRole role, IReadOnlyDictionary<string, string> flags, string? configFile)
    {
        // The OpenTelemetry convention, below this farm's own settings.
        if (environment.Variable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } otlp && !flags.ContainsKey("otlp-endpoint")
            && environment.Variable(EnvironmentPrefix + "OTLP_ENDPOINT") is null)
            flags = new Dictionary<string, string>(flags) { ["otlp-endpoint"] = otlp };
        var file = configFile is not null ? Path.GetFullPath(configFile) : Path.Combine(environment.Home.Root, "farm.json");
        if (configFile is not null && !File.Exists(file))
            throw new SettingsException($"--config {configFile}: no such file");
        var builder = new ConfigurationBuilder();
        var hasFile = File.Exists(file);
        if (hasFile) builder.AddJsonFile(file, optional: false, reloadOnChange: false);
        builder.AddInMemoryCollection(FromEnvironment(environment));
        builder.AddInMemoryCollection(flags.Select(f => new KeyValuePair<string, string?>(f.Key, f.Value)));
        IConfigurationRoot configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw new SettingsException($"{file}: not a JSON object of settings: {e.InnerException?.Message ?? e.Message}");
        }
        var loader = new FarmSettingsLoader(configuration, hasFile ? file : null);
        loader.RejectUnknownFileKeys();
        return loader.Bind(role);
    }

    // BUILDFARM_JOIN_TIMEOUT → join-timeout; only setting keys, so BUILDFARM_HOME and friends stay out.
    private static IEnumerable<KeyValuePair<string, string?>> FromEnvironment(CliEnvironment environment) =>
        environment.VariablesStartingWith(EnvironmentPrefix)
            .Select(v => (Key: v.Key[EnvironmentPrefix.Length..].ToLowerInvariant().Replace('_', '-'), v.Value))
            .Where(v => Keys.Contains(v.Key))
            .Select(v => new KeyValuePair<string, string?>(v.Key, v.Value));

    private void RejectUnknownFileKeys()
    {
        if (_file is null) return;
        var fileProvider = _configuration.Providers.First();
        foreach (var key in fileProvider.GetChildKeys([], null).Distinct(StringComparer.OrdinalIgnoreCase))
            if (!Keys.Contains(key, StringComparer.OrdinalIgnoreCase))
                throw new SettingsException($"{_file}: unknown setting \"{key}\" (known: {string.Join(", ", Keys)})");
    }

    private FarmSettings Bind(HostRole role)
    {
        var settings = BindSeeds(role);
        var discovery = Discovery();
        var contactPoints = ContactPoints();
        if (discovery == ClusterDiscovery.Seeds)
        {
            foreach (var key in new[] { "contact-points", "pod-label-selector", "required-contact-points" })
                if (Raw(key) is { } value)
                    throw new SettingsException($"{Source(key, value)}: only used with cluster bootstrap (discovery config or kubernetes)");
            return settings;
        }
        if (settings.Seeds.Count > 0)
            throw new SettingsException($"{Source("seeds", Raw("seeds") ?? "")}: a node joins through its seeds or through discovery {Raw("discovery")}, not both");
        if (discovery == ClusterDiscovery.Config && contactPoints.Count == 0)
            throw new SettingsException($"{Source("discovery", Raw("discovery")!)}: needs contact-points (the coordinators' management endpoints, HOST:PORT,...)");
        if (discovery == ClusterDiscovery.Kubernetes && Raw("contact-points") is { } listed)
            throw new SettingsException($"{Source("contact-points", listed)}: discovery kubernetes finds its contact points itself");
        return settings with
        {
            Discovery = discovery,
            ContactPoints = contactPoints,
            PodLabelSelector = Raw("pod-label-selector") is { Length: > 0 } selector ? selector : DefaultPodLabelSelector,
            ManagementPort = Port("management-port", 8558),
            RequiredContactPoints = (int)Number("required-contact-points",
                discovery == ClusterDiscovery.Config ? contactPoints.Count : 1, 1, 100, "a number of contact points from 1 to 100"),
        };
    }

    private ClusterDiscovery Discovery() => Raw("discovery") switch
    {
        null or "" or "seeds" => ClusterDiscovery.Seeds,
        "config" => ClusterDiscovery.Config,
        "kubernetes" => ClusterDiscovery.Kubernetes,
        var other => throw new SettingsException($"{Source("discovery", other)}: expected seeds, config or kubernetes"),
    };

    // HOST:PORT of a management endpoint; host names are fine (discovery returns what it is given).
    private IReadOnlyList<string> ContactPoints()
    {
        var section = _configuration.GetSection("contact-points");
        var values = section.Value is { } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value ?? "").ToArray();
        foreach (var value in values)
        {
            var colon = value.LastIndexOf(':');
            if (colon <= 0 || Uri.CheckHostName(value[..colon].Trim('[', ']')) == UriHostNameType.Unknown
                || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new SettingsException($"{Source("contact-points", section.Value ?? value)}: contact point {value}: expected HOST:PORT with a port from 1 to 65535");
        }
        return values;
    }

    private FarmSettings BindSeeds(HostRole role) => new()
    {
        Listen = Endpoint("listen", "127.0.0.1:8740"),
        Hostname = Host("hostname") ?? "127.0.0.1",
        PublicHostname = Host("public-hostname"),
        // The coordinator's remoting port is well known (it is the seed others name); a worker's may be any.
        RemotingPort = Port("remoting-port", role == HostRole.Coordinator ? 8750 : 0),
        Seeds = Seeds(),
        JoinTimeout = TimeSpan.FromSeconds(Number("join-timeout", 30, 1, 3600, "a number of seconds from 1 to 3600")),
        // Default: what the machine can hold (CPUs and memory), not one step per CPU: RUN steps mostly wait.
        Slots = (int)Number("slots", Worker.Capacity.WorkerCapacity.DefaultSlots(), 1, 1024, "a number of slots from 1 to 1024"),
        HealthListen = Endpoint("health-listen", "127.0.0.1:0"),
        WorkerCacheBytes = MiB("worker-cache-mb", 8192) ?? 8192L << 20,
        ContextCacheBytes = MiB("context-cache-mb", 2048) ?? 2048L << 20,
        SnapshotCacheBytes = MiB("snapshot-cache-mb", null),
        MetricsListen = MetricsEndpoint(),
        OtlpEndpoint = Otlp(),
        Quotas = Quotas(),
        QueueLimits = QueueLimits(),
        LogFormat = LogFormat(),
        TokensFile = ExistingFile("tokens"),
        TlsCertificate = ExistingFile("tls-cert"),
        TlsKey = TlsKey(),
    };

    private IPEndPoint? MetricsEndpoint()
    {
        if (Raw("metrics-listen") is null) return null;
        var endpoint = Endpoint("metrics-listen", "");
        return endpoint.Port != 0
            ? endpoint
            : throw new SettingsException($"{Source("metrics-listen", Raw("metrics-listen")!)}: needs a fixed port (Prometheus scrapes a known address)");
    }

    private Uri? Otlp()
    {
        if (Raw("otlp-endpoint") is not { } value) return null;
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            ? uri
            : throw new SettingsException($"{Source("otlp-endpoint", value)}: expected the collector's http:// or https:// address (OTLP over gRPC, e.g. http://127.0.0.1:4317)");
    }

    /// <summary><c>quotas</c> (a JSON object, or <c>team=N,...</c> text) then <c>--team-quota</c> entries over it.</summary>
    private TeamQuotas Quotas()
    {
        var limits = new Dictionary<string, int>(StringComparer.Ordinal);
        var section = _configuration.GetSection("quotas");
        if (section.Value is { } text) ParseQuotas("quotas", text, limits);
        else
            foreach (var child in section.GetChildren())
                limits[child.Key] = QuotaValue("quotas", child.Key, child.Value ?? "", $"{child.Key}: {child.Value}");
        if (Raw("team-quota") is { } flag) ParseQuotas("team-quota", flag, limits);
        if (limits.Count == 0) return TeamQuotas.Unlimited;
        int? fallback = limits.Remove(DefaultTeam, out var d) ? d : null;
        if (limits.Remove(LocalTeam, out var local)) limits[""] = local;
        return new TeamQuotas { Limits = limits, Default = fallback };
    }

    /// <summary><c>team-queue-limit</c>: builds in flight per team, <c>TEAM=N,...</c> as <c>team-quota</c> (* and @local too).</summary>
    private TeamQuotas QueueLimits()
    {
        var limits = new Dictionary<string, int>(StringComparer.Ordinal);
        if (Raw("team-queue-limit") is { } text) ParseQuotas("team-queue-limit", text, limits, "builds queued or running");
        if (limits.Count == 0) return TeamQuotas.Unlimited;
        int? fallback = limits.Remove(DefaultTeam, out var d) ? d : null;
        if (limits.Remove(LocalTeam, out var local)) limits[""] = local;
        return new TeamQuotas { Limits = limits, Default = fallback };
    }

    private HostLogFormat LogFormat() => Raw("log-format") switch
    {
        null or "text" => HostLogFormat.Text,
        "json" => HostLogFormat.Json,
        var other => throw new SettingsException($"{Source("log-format", other)}: expected text or json, not \"{other}\""),
    };

    private void ParseQuotas(string key, string text, Dictionary<string, int> limits, string unit = "running steps")
    {
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=');
            if (equals <= 0)
                throw new SettingsException($"{Source(key, text)}: \"{entry}\" is not TEAM=N (TEAM: a team name, {DefaultTeam} for every other team, {LocalTeam} for builds without a team)");
            var team = entry[..equals].Trim();
            limits[team] = QuotaValue(key, team, entry[(equals + 1)..].Trim(), text, unit);
        }
    }

    private int QuotaValue(string key, string team, string value, string whole, string unit = "running steps") =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= 100_000
            ? limit
            : throw new SettingsException($"{Source(key, whole)}: the quota of team {team} must be a number of {unit} from 1 to 100000, not \"{value}\"");


    private string? ExistingFile(string key)
    {
        if (Raw(key) is not { Length: > 0 } value) return null;
        // Relative names in the config file are taken from the file's folder, as a user reading it would expect.
        var full = _file is not null && !Path.IsPathRooted(value) && Source(key, value).StartsWith(_file, StringComparison.Ordinal)
            ? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(_file)!, value))
            : Path.GetFullPath(value);
        return File.Exists(full) ? full : throw new SettingsException($"{Source(key, value)}: no such file");
    }

    private string? TlsKey()
    {
        var key = ExistingFile("tls-key");
        var cert = Raw("tls-cert");
        if (key is not null && cert is null)
            throw new SettingsException($"{Source("tls-key", Raw("tls-key")!)}: a key without --tls-cert");
        if (key is null && cert is not null && !IsPkcs12(cert))
            throw new SettingsException($"{Source("tls-cert", cert)}: a PEM certificate needs its key (--tls-key FILE); or give a .p12/.pfx file");
        return key;
    }

    internal static bool IsPkcs12(string path) =>
        path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase);

    /// <summary>"--slots 0", "BUILDFARM_SLOTS=0" or "/etc/farm.json: slots 0": the value as the user wrote it, where.</summary>
    private string Source(string key, string value)
    {
        var providers = _configuration.Providers.ToList();
        for (var i = providers.Count - 1; i >= 0; i--)
        {
            if (!providers[i].TryGet(key, out _) && !providers[i].GetChildKeys([], key).Any()) continue;
            if (i == providers.Count - 1) return $"--{key} {value}";
            if (i == providers.Count - 2) return $"{EnvironmentPrefix}{key.ToUpperInvariant().Replace('-', '_')}={value}";
            return $"{_file}: {key} {value}";
        }
        return $"{key} {value}";
    }

    private string? Raw(string key) => _configuration[key] is { } value ? value.Trim() : null;

    private IPEndPoint Endpoint(string key, string fallback)
    {
        var value = Raw(key) ?? fallback;
        var colon = value.LastIndexOf(':');
        if (colon > 0 && IPAddress.TryParse(value[..colon].Trim('[', ']'), out var ip)
            && int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535)
            return new IPEndPoint(ip, port);
        throw new SettingsException($"{Source(key, value)}: expected IP:PORT with a port from 0 to 65535");
    }

    private string? Host(string key)
    {
        if (Raw(key) is not { } value) return null;
        return Uri.CheckHostName(value.Trim('[', ']')) != UriHostNameType.Unknown
            ? value
            : throw new SettingsException($"{Source(key, value)}: expected a host name or IP address");
    }

    private int Port(string key, int fallback)
    {
        if (Raw(key) is not { } value) return fallback;
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new SettingsException($"{Source(key, value)}: expected a port from 0 to 65535 (0: any free port)");
    }

    private double Number(string key, double fallback, double min, double max, string expected)
    {
        if (Raw(key) is not { } value) return fallback;
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            && (key != "slots" || number == Math.Floor(number))
            ? number
            : throw new SettingsException($"{Source(key, value)}: expected {expected}");
    }

    private long? MiB(string key, long? fallback)
    {
        if (Raw(key) is not { } value) return fallback is { } f ? f << 20 : null;
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) && mib is > 0 and <= long.MaxValue >> 20
            ? mib << 20
            : throw new SettingsException($"{Source(key, value)}: expected a positive number of MiB");
    }

    private IReadOnlyList<string> Seeds()
    {
        // A flag or variable is one comma-separated string; a JSON file may also give an array.
        var section = _configuration.GetSection("seeds");
        var values = section.Value is { } text
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value ?? "").ToArray();
        var seeds = new List<string>();
        foreach (var value in values)
        {
            var seed = SeedAddress.TryParse(value, out var error)
                ?? throw new SettingsException(values.Length == 1
                    ? $"{Source("seeds", value)}: {error}"
                    : $"{Source("seeds", section.Value ?? value)}: seed {value}: {error}");
            seeds.Add(seed);
        }
        return seeds;
    }
}
