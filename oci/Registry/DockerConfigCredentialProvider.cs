using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace BuildFarm.Oci.Registry;

/// <summary>
/// Reads the <c>auths</c> section of Docker's <c>config.json</c> (the CLI's <c>$DOCKER_CONFIG/config.json</c> or
/// <c>~/.docker/config.json</c>): base64 <c>auth</c> = "user:password", or <c>username</c>/<c>password</c>,
/// or an <c>identitytoken</c>. Keys may be bare hosts or URLs ("https://index.docker.io/v1/").
/// </summary>
public sealed class DockerConfigCredentialProvider : IRegistryCredentialProvider
{
    private readonly Dictionary<string, RegistryCredential> _byHost;
    private readonly string? _credsStore;
    private readonly Dictionary<string, string> _credHelpers;
    private readonly ConcurrentDictionary<string, Lazy<RegistryCredential?>> _fromHelpers = new(StringComparer.OrdinalIgnoreCase);

    private DockerConfigCredentialProvider(Dictionary<string, RegistryCredential> byHost, string? credsStore = null, Dictionary<string, string>? credHelpers = null)
    {
        _byHost = byHost;
        _credsStore = credsStore;
        _credHelpers = credHelpers ?? new(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The credentials of <c>config.json</c> in <paramref name="directory"/> (the CLI passes $DOCKER_CONFIG,
    /// else ~/.docker); none when the file does not exist.</summary>
    public static DockerConfigCredentialProvider FromDirectory(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        return File.Exists(path) ? FromFile(path) : new DockerConfigCredentialProvider([]);
    }

    public static DockerConfigCredentialProvider FromFile(string path)
    {
        try
        {
            return FromJson(File.ReadAllBytes(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"docker config '{path}': {e.Message}", e);
        }
    }

    public static DockerConfigCredentialProvider FromJson(ReadOnlySpan<byte> json)
    {
        var byHost = new Dictionary<string, RegistryCredential>(StringComparer.OrdinalIgnoreCase);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var credsStore = document.RootElement.TryGetProperty("credsStore", out var store) && store.ValueKind == JsonValueKind.String
                ? store.GetString() : null;
            var credHelpers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (document.RootElement.TryGetProperty("credHelpers", out var helpers) && helpers.ValueKind == JsonValueKind.Object)
                foreach (var helper in helpers.EnumerateObject())
                    if (helper.Value.GetString() is { Length: > 0 } helperName) credHelpers[NormalizeHost(helper.Name)] = helperName;
            if (!document.RootElement.TryGetProperty("auths", out var auths) || auths.ValueKind != JsonValueKind.Object)
                return new DockerConfigCredentialProvider(byHost, credsStore is { Length: > 0 } ? credsStore : null, credHelpers);
            foreach (var entry in auths.EnumerateObject())
            {
                var host = NormalizeHost(entry.Name);
                string? user = null, password = null, identityToken = null;
                if (entry.Value.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
                {
                    string decoded;
                    try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)); }
                    catch (FormatException) { throw new FormatException($"auths[\"{entry.Name}\"].auth is not base64"); }
                    var colon = decoded.IndexOf(':');
                    if (colon < 0) throw new FormatException($"auths[\"{entry.Name}\"].auth does not decode to user:password");
                    (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
                }
                if (entry.Value.TryGetProperty("username", out var u) && u.GetString() is { Length: > 0 } un) user = un;
                if (entry.Value.TryGetProperty("password", out var p) && p.GetString() is { } pw) password = pw;
                if (entry.Value.TryGetProperty("identitytoken", out var t) && t.GetString() is { Length: > 0 } tok) identityToken = tok;
                if (user is null && identityToken is null) continue;
                byHost[host] = new RegistryCredential(user ?? "<token>", password ?? "") { IdentityToken = identityToken };
            }
            return new DockerConfigCredentialProvider(byHost, credsStore is { Length: > 0 } ? credsStore : null, credHelpers);
        }
    }

    /// <summary>As docker looks: the registry's own helper (<c>credHelpers</c>), else <c>credsStore</c>, else <c>auths</c>.</summary>
    public RegistryCredential? Find(string registry)
    {
        var host = NormalizeHost(registry);
        var helper = _credHelpers.GetValueOrDefault(host) ?? _credsStore;
        if (helper is null) return _byHost.GetValueOrDefault(host);
        // Find is synchronous (asked per request): the helper runs once per registry and its answer is kept.
        var fromHelper = _fromHelpers.GetOrAdd(host, h => new Lazy<RegistryCredential?>(() =>
            new CredentialHelper(helper).GetAsync(DockerConfigFile.KeyFor(h), CancellationToken.None).GetAwaiter().GetResult())).Value;
        return fromHelper ?? _byHost.GetValueOrDefault(host);
    }

    /// <summary>"https://index.docker.io/v1/" and "registry-1.docker.io" both mean docker.io.</summary>
    private static string NormalizeHost(string key)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) host = host[(scheme + 3)..];
        var slash = host.IndexOf('/');
        if (slash >= 0) host = host[..slash];
        host = host.ToLowerInvariant();
        return host is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? ImageReference.DockerHub : host;
    }
}
