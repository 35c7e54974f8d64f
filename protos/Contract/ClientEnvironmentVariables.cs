namespace BuildFarm.Protos;

/// <summary>
/// The variables of a client's environment that a build run by an engine in another process must see as the client's
/// (<c>BuildSpec.client_environment</c>): the docker config (registry logins for pulls and pushes) and the proxies of the
/// engine's registry connections. Both clients (the managed CLI and the native one) send exactly these.
/// Not sent: SOURCE_DATE_EPOCH (its own spec field), TMPDIR (only the client writes temporary files: export downloads),
/// BUILDKIT_*/BUILDX_* (no part of buildfarm reads them from the environment; BUILDKIT_DOCKERFILE_CHECK is a build arg).
/// </summary>
public static class ClientEnvironmentVariables
{
    public const string DockerConfig = "DOCKER_CONFIG";

    /// <summary>The proxy variables in both spellings; the lower-case one wins, as curl and BuildKit read them.</summary>
    public static IReadOnlyList<string> ProxyNames { get; } =
    [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ];

    /// <summary>The variables to send, read through <paramref name="variable"/>; DOCKER_CONFIG is made absolute, and is
    /// <c>$HOME/.docker</c> when unset (docker's default), so the engine never resolves it against its own HOME.</summary>
    public static Dictionary<string, string> Collect(Func<string, string?> variable)
    {
        var collected = new Dictionary<string, string>(StringComparer.Ordinal);
        var home = variable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var dockerConfig = variable(DockerConfig) is { Length: > 0 } d ? d : Path.Combine(home, ".docker");
        collected[DockerConfig] = Path.GetFullPath(dockerConfig);
        foreach (var name in ProxyNames)
            if (variable(name) is { Length: > 0 } value) collected[name] = value;
        return collected;
    }

    /// <summary>A proxy setting as the client gave it: the lower-case spelling first, then the upper-case one.</summary>
    public static string? Proxy(IReadOnlyDictionary<string, string> environment, string upperName) =>
        environment.TryGetValue(upperName.ToLowerInvariant(), out var lower) && lower.Length > 0 ? lower
        : environment.TryGetValue(upperName, out var upper) && upper.Length > 0 ? upper
        : null;
}
