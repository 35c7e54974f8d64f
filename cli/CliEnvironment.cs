using System.Collections;
using BuildFarm.Cache;

namespace BuildFarm.Cli;

/// <summary>
/// The process environment, read once when the command starts; the only place BuildFarm reads environment variables.
/// Library projects (cache, coordinator, worker, oci) get what they need from it as options:
/// BUILDFARM_HOME (state folder, default ~/.buildfarm), BUILDFARM_TRACE=1 (phase timings on stderr),
/// SOURCE_DATE_EPOCH (layer timestamps), BUILDFARM_CACHE / BUILDFARM_CACHE_NAMESPACE / AWS_REGION /
/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the cache store), DOCKER_CONFIG (registry credentials, default
/// ~/.docker), CI (plain progress), BUILDFARM_REMOTING_CERT / BUILDFARM_REMOTING_CERT_PASSWORD (a farm's shared remoting
/// certificate), BUILDFARM_TLS_CERT_PASSWORD (a host's PKCS#12 API certificate), BUILDFARM_TOKEN and
/// BUILDFARM_TLS_CA (a client's token and CA for a farm), and the hosts' settings BUILDFARM_SEEDS, BUILDFARM_SLOTS, ... (<see cref="Hosting.FarmSettingsLoader"/>
/// reads them from this snapshot through <see cref="VariablesStartingWith"/>). Variables a user names on the command line (<c>--build-arg NAME</c>,
/// <c>--secret env=NAME</c>, <c>run -e NAME</c>) are looked up in the same snapshot through <see cref="Variable"/>.
/// </summary>
public sealed class CliEnvironment
{
    private readonly IReadOnlyDictionary<string, string> _variables;

    private CliEnvironment(IReadOnlyDictionary<string, string> variables)
    {
        _variables = variables;
        var userHome = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Home = new BuildFarmHome(Path.GetFullPath(Variable("BUILDFARM_HOME") is { Length: > 0 } home && !string.IsNullOrWhiteSpace(home)
            ? home
            : Path.Combine(userHome, ".buildfarm")));
        Trace = Variable("BUILDFARM_TRACE") == "1";
        SourceDateEpoch = Variable("SOURCE_DATE_EPOCH") ?? "";
        DockerConfigDirectory = Variable("DOCKER_CONFIG") is { Length: > 0 } docker ? docker : Path.Combine(userHome, ".docker");
        IsCi = Variable("CI") is { Length: > 0 };
        Store = StoreOptions(Variable("BUILDFARM_CACHE"));
    }

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
    public string SourceDateEpoch { get; }
    public string DockerConfigDirectory { get; }
    public bool IsCi { get; }

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

    /// <summary>A variable a user named on the command line; null when unset.</summary>
    public string? Variable(string name) => _variables.GetValueOrDefault(name);

    /// <summary>The store a <c>--cache</c> spec names (null: BUILDFARM_CACHE), completed from the environment like the default.</summary>
    public ContentStoreOptions StoreOptions(string? spec)
    {
        var options = string.IsNullOrEmpty(spec) ? new ContentStoreOptions() : ContentStoreOptions.Parse(spec);
        if (options.Kind == ContentStoreKind.Local && string.IsNullOrEmpty(options.Path))
            options = options with { Path = Home.Cache };
        if (Variable("BUILDFARM_CACHE_NAMESPACE") is { Length: > 0 } ns) options = options with { Namespace = ns };
        if (options.Kind == ContentStoreKind.S3 && Variable("AWS_REGION") is { Length: > 0 } region && spec?.Contains("region=") != true)
            options = options with { Region = region };
        return options with
        {
            AccessKey = options.AccessKey ?? Variable("AWS_ACCESS_KEY_ID"),
            SecretKey = options.SecretKey ?? Variable("AWS_SECRET_ACCESS_KEY"),
        };
    }
}
