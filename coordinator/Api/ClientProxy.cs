using System.Net;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The proxies of a client's environment (<c>BuildSpec.client_environment</c>) for the registry connections of its build,
/// read as curl and Go's net/http read them: http_proxy for http://, https_proxy for https://, all_proxy for either when
/// the other is unset; no_proxy lists hosts (a leading dot or not: the host and its subdomains; host:port; "*": all)
/// that go direct. Null from <see cref="From"/> when the client has no proxy: its build connects directly, whatever the
/// engine's own environment says.
/// </summary>
public sealed class ClientProxy : IWebProxy
{
    private readonly Uri? _http;
    private readonly Uri? _https;
    private readonly string[] _noProxy;

    private ClientProxy(Uri? http, Uri? https, string[] noProxy)
    {
        _http = http;
        _https = https;
        _noProxy = noProxy;
        var withCredentials = http?.UserInfo is { Length: > 0 } ? http : https?.UserInfo is { Length: > 0 } ? https : null;
        if (withCredentials is not null)
        {
            var userInfo = withCredentials.UserInfo.Split(':', 2);
            Credentials = new NetworkCredential(Uri.UnescapeDataString(userInfo[0]), userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "");
        }
    }

    public ICredentials? Credentials { get; set; }

    /// <summary>The client's proxies, or null when it names none. A value that is not a URL is refused, naming it.</summary>
    public static ClientProxy? From(IReadOnlyDictionary<string, string> environment)
    {
        var all = Parse(environment, "ALL_PROXY");
        var http = Parse(environment, "HTTP_PROXY") ?? all;
        var https = Parse(environment, "HTTPS_PROXY") ?? all;
        if (http is null && https is null) return null;
        var noProxy = (Protos.ClientEnvironmentVariables.Proxy(environment, "NO_PROXY") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ClientProxy(http, https, noProxy);
    }

    private static Uri? Parse(IReadOnlyDictionary<string, string> environment, string name)
    {
        if (Protos.ClientEnvironmentVariables.Proxy(environment, name) is not { } value) return null;
        var spelled = environment.GetValueOrDefault(name.ToLowerInvariant()) == value ? name.ToLowerInvariant() : name;
        // "proxy:3128" without a scheme means http://, as curl reads it
        var text = value.Contains("://", StringComparison.Ordinal) ? value : "http://" + value;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "socks5" or "socks4" or "socks4a"
            ? uri
            : throw new FormatException($"the client's {spelled}={value} is not a proxy URL (http://HOST:PORT)");
    }

    public Uri? GetProxy(Uri destination)
    {
        if (IsBypassed(destination)) return null;
        return destination.Scheme == Uri.UriSchemeHttps ? _https : _http;
    }

    public bool IsBypassed(Uri host)
    {
        foreach (var entry in _noProxy)
        {
            if (entry == "*") return true;
            var colon = entry.LastIndexOf(':');
            var (name, port) = colon > 0 && !entry.EndsWith(']') && int.TryParse(entry[(colon + 1)..], out var p) ? (entry[..colon], p) : (entry, -1);
            if (port >= 0 && port != host.Port) continue;
            name = name.TrimStart('.').Trim('[', ']');
            if (host.IdnHost.Equals(name, StringComparison.OrdinalIgnoreCase)
                || host.IdnHost.EndsWith("." + name, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}
