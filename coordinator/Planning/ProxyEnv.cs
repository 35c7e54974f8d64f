namespace BuildFarm.Coordinator.Planning;

/// <summary>The predefined proxy build args, passed to RUN but (unless declared with ARG) kept out of cache keys.</summary>
public sealed record ProxyEnv(string? HttpProxy, string? HttpsProxy, string? FtpProxy, string? NoProxy, string? AllProxy)
{
    /// <summary>Every predefined proxy arg name, both spellings.</summary>
    public static IReadOnlySet<string> ArgNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    };

    /// <summary>Collects the proxy settings from build args; the lower-case spelling wins; null when none is given.</summary>
    public static ProxyEnv? FromBuildArgs(IReadOnlyDictionary<string, string> buildArgs)
    {
        string? Pick(string upper)
        {
            if (buildArgs.TryGetValue(upper.ToLowerInvariant(), out var lower))
                return lower;
            return buildArgs.TryGetValue(upper, out var value) ? value : null;
        }

        var env = new ProxyEnv(Pick("HTTP_PROXY"), Pick("HTTPS_PROXY"), Pick("FTP_PROXY"), Pick("NO_PROXY"), Pick("ALL_PROXY"));
        return env is { HttpProxy: null, HttpsProxy: null, FtpProxy: null, NoProxy: null, AllProxy: null } ? null : env;
    }

    /// <summary>The environment entries a RUN gets (both spellings, as BuildKit sets them).</summary>
    public IEnumerable<KeyValuePair<string, string>> ToEnvironment()
    {
        foreach (var (name, value) in new[] { ("HTTP_PROXY", HttpProxy), ("HTTPS_PROXY", HttpsProxy), ("FTP_PROXY", FtpProxy), ("NO_PROXY", NoProxy), ("ALL_PROXY", AllProxy) })
        {
            if (value is null)
                continue;
            yield return new(name, value);
            yield return new(name.ToLowerInvariant(), value);
        }
    }
}
