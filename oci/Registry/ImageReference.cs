using System.Text.RegularExpressions;

namespace BuildFarm.Oci.Registry;

/// <summary>
/// A parsed, normalized image reference: <c>busybox</c> → <c>docker.io/library/busybox:latest</c>;
/// <c>localhost:5000/app@sha256:…</c> keeps its port and digest.
/// </summary>
public sealed partial record ImageReference
{
    public const string DockerHub = "docker.io";
    public const string DockerHubEndpoint = "registry-1.docker.io";
    public const string DefaultTag = "latest";

    /// <summary>Registry host, with port when given (docker.io for Docker Hub).</summary>
    public required string Registry { get; init; }

    /// <summary>Repository path inside the registry (library/busybox for an official image).</summary>
    public required string Repository { get; init; }

    public string? Tag { get; init; }
    public Digest? Digest { get; init; }

    /// <summary>The tag or digest to ask the registry for (digest wins when both are given).</summary>
    public string Reference => Digest?.ToString() ?? Tag ?? DefaultTag;

    /// <summary>Host to talk to: Docker Hub's API lives on another name than its references use.</summary>
    public string Endpoint => Registry == DockerHub ? DockerHubEndpoint : Registry;

    /// <summary>True for hosts served over plain http by default (loopback).</summary>
    public bool IsLoopback
    {
        get
        {
            var host = HostWithoutPort(Registry);
            return host is "localhost" or "127.0.0.1" or "[::1]" || host.StartsWith("127.", StringComparison.Ordinal);
        }
    }

    public static ImageReference Parse(string value)
    {
        if (!TryParse(value, out var reference, out var error))
            throw new FormatException($"invalid image reference '{value}': {error}");
        return reference;
    }

    public static bool TryParse(string value, out ImageReference reference, out string error)
    {
        reference = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(value)) { error = "empty"; return false; }
        var rest = value;

        Digest? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(rest[(at + 1)..], out var d)) { error = $"'{rest[(at + 1)..]}' is not a digest"; return false; }
            digest = d;
            rest = rest[..at];
        }

        string? tag = null;
        var lastColon = rest.LastIndexOf(':');
        if (lastColon > rest.LastIndexOf('/'))
        {
            tag = rest[(lastColon + 1)..];
            rest = rest[..lastColon];
            if (!TagPattern().IsMatch(tag)) { error = $"'{tag}' is not a valid tag"; return false; }
        }

        string registry;
        string path;
        var slash = rest.IndexOf('/');
        var first = slash < 0 ? "" : rest[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper)))
        {
            registry = first;
            path = rest[(slash + 1)..];
            if (!HostPattern().IsMatch(registry)) { error = $"'{registry}' is not a valid registry host"; return false; }
        }
        else
        {
            registry = DockerHub;
            path = rest;
        }
        if (registry is "index.docker.io" or "registry-1.docker.io") registry = DockerHub;
        if (registry == DockerHub && !path.Contains('/')) path = "library/" + path;

        if (path.Length == 0 || !path.Split('/').All(c => ComponentPattern().IsMatch(c)))
        {
            error = path.Any(char.IsUpper) ? "repository names must be lowercase" : $"'{path}' is not a valid repository path";
            return false;
        }
        if (registry.Length + 1 + path.Length > 255) { error = "name longer than 255 characters"; return false; }

        reference = new ImageReference { Registry = registry, Repository = path, Tag = tag ?? (digest is null ? DefaultTag : null), Digest = digest };
        return true;
    }

    /// <summary>The same repository at another tag or digest.</summary>
    public ImageReference WithDigest(Digest digest) => this with { Digest = digest };

    public ImageReference WithTag(string tag) => this with { Tag = tag, Digest = null };

    public override string ToString()
    {
        var name = $"{Registry}/{Repository}";
        if (Tag is not null) name += ":" + Tag;
        if (Digest is { } d) name += "@" + d;
        return name;
    }

    private static string HostWithoutPort(string host)
    {
        if (host.StartsWith('[')) return host[..(host.IndexOf(']') + 1)];
        var colon = host.LastIndexOf(':');
        return colon < 0 ? host : host[..colon];
    }

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")]
    private static partial Regex HostPattern();
}
