using System.Collections;
using BuildFarm.Cache;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli;

/// <summary>
/// The process environment, read once when the command starts; the only place BuildFarm reads environment variables.
/// Library projects (cache, coordinator, worker, oci) get what they need from it as options:
/// BUILDFARM_HOME (state folder, default ~/.buildfarm), BUILDFARM_TRACE=1 (phase timings on stderr),
/// BUILDFARM_PREPUSH=0 (a pushing build uploads its layers only after the graph, not while later steps run: to compare),
/// SOURCE_DATE_EPOCH (layer timestamps), BUILDFARM_CACHE / BUILDFARM_CACHE_NAMESPACE and the AWS conventions
/// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_REGION,
/// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: see <see cref="StoreOptions"/>) for the cache store, DOCKER_CONFIG (registry credentials, default
/// ~/.docker), CI (plain progress), NO_COLOR (tty progress without colors), HOME, BUILDFARM_REMOTING_CERT / BUILDFARM_REMOTING_CERT_PASSWORD (a farm's shared remoting
/// certificate), BUILDFARM_TLS_CERT_PASSWORD (a host's PKCS#12 API certificate), BUILDFARM_TOKEN and
/// BUILDFARM_TLS_CA (a client's token and CA for a farm), BUILDFARM_ENGINE (resident|embedded: where a build without
/// --server runs), BUILDFARM_ENGINE_IDLE_TIMEOUT and BUILDFARM_VERSION_OVERRIDE (the resident engine, cli/Engine), and the hosts' settings BUILDFARM_SEEDS, BUILDFARM_SLOTS, ... (<see cref="Hosting.FarmSettingsLoader"/>
/// reads them from this snapshot through <see cref="VariablesStartingWith"/>). Variables a user names on the command line (<c>--build-arg NAME</c>,
/// <c>--secret env=NAME</c>, <c>run -e NAME</c>) are looked up in the same snapshot through <see cref="Variable"/>.
/// </summary>
public sealed class CliEnvironment
{
    private readonly IReadOnlyDictionary<string, string> _variables;
    private readonly string _userHome;

    private CliEnvironment(IReadOnlyDictionary<string, string> variables)
    {
        _variables = variables;
        // HOME from the same snapshot (the table a test or host passes), the account's home folder when unset.
        var userHome = _userHome = Variable("HOME") is { Length: > 0 } home0 ? home0 : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Home = new BuildFarmHome(Path.GetFullPath(Variable("BUILDFARM_HOME") is { Length: > 0 } home && !string.IsNullOrWhiteSpace(home)
            ? home
            : Path.Combine(userHome, ".buildfarm")));
        Trace = Variable("BUILDFARM_TRACE") == "1";
        PrepushLayers = Variable("BUILDFARM_PREPUSH") != "0";
        SourceDateEpoch = Variable("SOURCE_DATE_EPOCH") ?? "";
        DockerConfigDirectory = Variable("DOCKER_CONFIG") is { Length: > 0 } docker ? docker : Path.Combine(userHome, ".docker");
        IsCi = Variable("CI") is { Length: > 0 };
        NoColor = Variable("NO_COLOR") is { Length: > 0 };
        Store = StoreOptions(Variable("BUILDFARM_CACHE"));
        EngineMode = Variable("BUILDFARM_ENGINE") switch
        {
            null or "" or "resident" => EngineMode.Resident,
            "embedded" => EngineMode.Embedded,
            var other => throw new UsageException($"BUILDFARM_ENGINE={other}: expected resident or embedded"),
        };
    }

    /// <summary>BUILDFARM_ENGINE: where <c>build</c> without <c>--server</c> runs (default the resident engine).</summary>
    public EngineMode EngineMode { get; }

    public BuildFarmHome Home { get; }

    /// <summary><c>--debug</c>: engine log events, stacks included, are kept in <see cref="BuildFarmHome.DebugLog"/>.</summary>
    public bool Debug { get; private init; }

    /// <summary>The remoting certificate (PKCS#12 with its key): BUILDFARM_REMOTING_CERT, the farm's shared one when
    /// configured, else the one made once for this home. BUILDFARM_REMOTING_CERT_PASSWORD opens it.</summary>
    public string RemotingCertificate => FarmRemotingCertificate ? Variable("BUILDFARM_REMOTING_CERT")! : Home.RemotingCertificate;

    /// <summary>True when BUILDFARM_REMOTING_CERT names a farm's certificate (used as is, never made).</summary>
    public bool FarmRemotingCertificate => Variable("BUILDFARM_REMOTING_CERT") is { Length: > 0 };

    public string? RemotingCertificatePassword => Variable("BUILDFARM_REMOTING_CERT_PASSWORD");

    /// <summary>BUILDFARM_TLS_CERT_PASSWORD: opens a host's PKCS#12 API certificate (<c>--tls-cert FILE.p12</c>).</summary>
    public string? TlsCertificatePassword => Variable("BUILDFARM_TLS_CERT_PASSWORD");

    /// <summary>BUILDFARM_TOKEN: the client's bearer token for a farm (below <c>--token</c>, above the config file).</summary>
    public string? Token => Variable("BUILDFARM_TOKEN") is { Length: > 0 } token ? token : null;

    /// <summary>BUILDFARM_TLS_CA: the PEM file of the CA(s) a client trusts for a farm's TLS certificate (below <c>--tlscacert</c>).</summary>
    public string? TlsCa => Variable("BUILDFARM_TLS_CA") is { Length: > 0 } ca ? ca : null;
    public bool Trace { get; }
    /// <summary>BUILDFARM_PREPUSH: off (0) only to measure the push without its overlap with the build's tail.</summary>
    public bool PrepushLayers { get; }
    public string SourceDateEpoch { get; }
    public string DockerConfigDirectory { get; }
    public bool IsCi { get; }

    /// <summary>NO_COLOR (no-color.org): the tty progress draws without colors.</summary>
    public bool NoColor { get; }

    /// <summary>The cache store: BUILDFARM_CACHE (a spec; default the local folder under <see cref="Home"/>) with its
    /// namespace, region and credentials filled from the environment.</summary>
    public ContentStoreOptions Store { get; }

    /// <summary>The environment of this process.</summary>
    public static CliEnvironment FromProcess(bool debug = false) => new(Snapshot(Environment.GetEnvironmentVariables())) { Debug = debug };

    /// <summary>An environment given as a table (tests, or a host that passes its own).</summary>
    public static CliEnvironment From(IDictionary variables) => new(Snapshot(variables));

    private static Dictionary<string, string> Snapshot(IDictionary variables)
    {
        var copy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in variables)
            if (entry.Key is string key && entry.Value is string value) copy[key] = value;
        return copy;
    }

    /// <summary>The variables whose names start with <paramref name="prefix"/> (BUILDFARM_: the hosts' settings), from the
    /// same snapshot: the configuration of a host is built from it, never from the process environment again.</summary>
    public IReadOnlyDictionary<string, string> VariablesStartingWith(string prefix) =>
        _variables.Where(v => v.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);

    /// <summary>This host's name for ssh sockets (Protos.HostIdentity): BUILDFARM_HOST_IDENTITY, else host name and boot id.</summary>
    public string HostIdentity => Protos.HostIdentity.Of(Variable(Protos.HostIdentity.Variable));

    /// <summary>A variable a user named on the command line; null when unset.</summary>
    public string? Variable(string name) => _variables.GetValueOrDefault(name);

    /// <summary>The store a <c>--cache</c> spec names (null: BUILDFARM_CACHE), completed from the environment like the
    /// default. What the spec says wins; an S3 store's missing settings come by the AWS conventions: the endpoint from
    /// AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else the profile's endpoint_url; the region from AWS_REGION, else
    /// AWS_DEFAULT_REGION, else the profile's; the credentials from AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
    /// (+ AWS_SESSION_TOKEN), else the profile's. The profile is AWS_PROFILE (default <c>default</c>) in
    /// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and AWS_CONFIG_FILE (default ~/.aws/config).</summary>
    public ContentStoreOptions StoreOptions(string? spec)
    {
        var options = string.IsNullOrEmpty(spec) ? new ContentStoreOptions() : ContentStoreOptions.Parse(spec);
        if (options.Kind == ContentStoreKind.Local && string.IsNullOrEmpty(options.Path))
            options = options with { Path = Home.Cache };
        if (Variable("BUILDFARM_CACHE_NAMESPACE") is { Length: > 0 } ns) options = options with { Namespace = ns };
        return options.Kind == ContentStoreKind.S3 ? WithAwsSettings(options, spec ?? "") : options;
    }

    private ContentStoreOptions WithAwsSettings(ContentStoreOptions options, string spec)
    {
        var aws = Path.Combine(_userHome, ".aws");
        var profile = AwsProfile.Load(
            Variable("AWS_PROFILE") is { Length: > 0 } named ? named : "default",
            named: Variable("AWS_PROFILE") is { Length: > 0 },
            ExpandHome(Variable("AWS_SHARED_CREDENTIALS_FILE")) ?? Path.Combine(aws, "credentials"),
            ExpandHome(Variable("AWS_CONFIG_FILE")) ?? Path.Combine(aws, "config"));
        var endpoint = options.Endpoint is { Length: > 0 } given ? given
            : NonEmpty("AWS_ENDPOINT_URL_S3") ?? NonEmpty("AWS_ENDPOINT_URL") ?? profile.EndpointUrl;
        var region = spec.Contains("region=", StringComparison.Ordinal) ? options.Region
            : NonEmpty("AWS_REGION") ?? NonEmpty("AWS_DEFAULT_REGION") ?? profile.Region ?? options.Region;
        // As the AWS SDKs: keys in the environment are used as a pair, with their own session token, before any profile.
        var fromEnvironment = NonEmpty("AWS_ACCESS_KEY_ID") is not null && NonEmpty("AWS_SECRET_ACCESS_KEY") is not null;
        return options with
        {
            Endpoint = endpoint,
            Region = region,
            AccessKey = options.AccessKey ?? (fromEnvironment ? NonEmpty("AWS_ACCESS_KEY_ID") : profile.AccessKeyId),
            SecretKey = options.SecretKey ?? (fromEnvironment ? NonEmpty("AWS_SECRET_ACCESS_KEY") : profile.SecretAccessKey),
            SessionToken = options.SessionToken ?? (fromEnvironment ? NonEmpty("AWS_SESSION_TOKEN") : profile.SessionToken),
        };
    }

    private string? NonEmpty(string name) => Variable(name) is { Length: > 0 } value ? value : null;

    private string? ExpandHome(string? path) => path is null or "" ? null
        : path == "~" || path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(_userHome, path[1..].TrimStart('/')) : path;
}
