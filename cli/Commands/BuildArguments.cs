using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Cli.Commands;

/// <summary>Parses the composite flag values of <c>build</c> the way buildx does.</summary>
public static class BuildArguments
{
    public static IEnumerable<KeyValuePair<string, string>> ParseBuildArgs(IEnumerable<string> values, CliEnvironment environment)
    {
        foreach (var value in values)
        {
            var eq = value.IndexOf('=');
            if (eq > 0) yield return new(value[..eq], value[(eq + 1)..]);
            else if (environment.Variable(value) is { } fromEnv) yield return new(value, fromEnv);
            // buildx drops a bare name that is not in the environment.
        }
    }

    public static IEnumerable<KeyValuePair<string, string>> ParseKeyValues(IEnumerable<string> values, string flag)
    {
        foreach (var value in values)
        {
            var eq = value.IndexOf('=');
            if (eq <= 0) throw new UsageException($"invalid {flag} \"{value}\": expected KEY=VALUE");
            yield return new(value[..eq], value[(eq + 1)..]);
        }
    }

    public static Dictionary<string, string> ParseCsv(string value)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) fields[part] = "";
            else fields[part[..eq]] = part[(eq + 1)..];
        }
        return fields;
    }

    public static OutputSpec ParseOutput(string value)
    {
        if (value == "-") throw new UsageException("output to stdout (-o -) is not supported; give type=...,dest=FILE");
        if (!value.Contains('='))
            return new OutputSpec { Type = "local", Attrs = { ["dest"] = Path.GetFullPath(value) } };
        var fields = ParseCsv(value);
        if (!fields.Remove("type", out var type))
            throw new UsageException($"invalid --output \"{value}\": type is required (oci, docker, local, image, registry)");
        if (type is not ("oci" or "docker" or "local" or "tar" or "image" or "registry"))
            throw new UsageException($"invalid --output type \"{type}\": expected oci, docker, local, tar, image or registry");
        // type=docker without dest loads into the docker daemon, as buildx (see --load)
        if (type is "oci" or "local" or "tar" && !fields.ContainsKey("dest"))
            throw new UsageException($"--output type={type} needs dest=PATH");
        if (fields.TryGetValue("dest", out var dest))
            fields["dest"] = dest != "-" ? Path.GetFullPath(dest)
                : type is "oci" or "docker" or "tar" ? dest // stdout, as buildx
                : throw new UsageException($"--output type={type}: dest=- (stdout) is only for tar, oci and docker");
        var spec = new OutputSpec { Type = type };
        foreach (var (k, v) in fields) spec.Attrs[k] = v;
        return spec;
    }

    /// <summary>A --cache-from/--cache-to value as buildx reads it: CSV with type= (local, registry), or a bare NAME meaning
    /// type=registry,ref=NAME. Local folders become absolute here, where the user's working directory is known.</summary>
    public static CacheOption ParseCacheOption(string value, string flag)
    {
        var fields = value.Contains('=') ? ParseCsv(value) : new Dictionary<string, string> { ["type"] = "registry", ["ref"] = value };
        if (!fields.Remove("type", out var type)) type = "registry"; // buildx's default when only ref= is given
        var pathKey = flag == "--cache-to" ? "dest" : "src";
        switch (type)
        {
            case "local":
                if (!fields.TryGetValue(pathKey, out var path) || path.Length == 0)
                    throw new UsageException($"invalid {flag} \"{value}\": type=local needs {pathKey}=DIR");
                fields[pathKey] = Path.GetFullPath(path);
                break;
            case "registry":
                if (!fields.TryGetValue("ref", out var reference) || reference.Length == 0)
                    throw new UsageException($"invalid {flag} \"{value}\": type=registry needs ref=NAME");
                if (!Oci.Registry.ImageReference.TryParse(reference, out _, out var error))
                    throw new UsageException($"invalid {flag} \"{value}\": ref {reference}: {error}");
                break;
            default:
                throw new UsageException($"invalid {flag} \"{value}\": type {type} is not supported (local, registry)");
        }
        if (fields.TryGetValue("mode", out var mode) && mode is not ("min" or "max"))
            throw new UsageException($"invalid {flag} \"{value}\": mode={mode} (expected min or max)");
        var option = new CacheOption { Type = type };
        foreach (var (k, v) in fields) option.Attrs[k] = v;
        return option;
    }

    /// <summary>buildx's --build-context NAME=VALUE: a folder, docker-image://REF, oci-layout://PATH[@digest|:tag] or
    /// target:STAGE. Paths become absolute (they are read on this host, embedded).</summary>
    public static KeyValuePair<string, string> ParseBuildContext(string value)
    {
        var eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1)
            throw new UsageException($"invalid --build-context \"{value}\": expected NAME=DIR|docker-image://REF|oci-layout://PATH|target:STAGE");
        var name = value[..eq];
        var source = value[(eq + 1)..];
        const string layout = "oci-layout://";
        if (source.StartsWith("docker-image://", StringComparison.Ordinal) || source.StartsWith("target:", StringComparison.Ordinal))
            return new(name, source);
        if (source.StartsWith(layout, StringComparison.Ordinal))
        {
            var rest = source[layout.Length..];
            var cut = rest.LastIndexOf('@') is var at and > 0 ? at
                : rest.LastIndexOf(':') is var colon and > 0 && !rest[(colon + 1)..].Contains('/') ? colon : rest.Length;
            var path = Path.GetFullPath(rest[..cut]);
            if (!File.Exists(Path.Combine(path, "oci-layout")))
                throw new UsageException($"--build-context {name}: {path} is not an OCI layout (no oci-layout file)");
            return new(name, layout + path + rest[cut..]);
        }
        if (source.Contains("://", StringComparison.Ordinal))
            throw new UsageException($"--build-context {name}: {source}: only a folder, docker-image://, oci-layout:// and target: are supported");
        var dir = Path.GetFullPath(source);
        if (!Directory.Exists(dir))
            throw new UsageException($"--build-context {name}: {dir} is not a directory");
        return new(name, dir);
    }

    /// <summary>buildx's --ssh: <c>default|ID[=SOCKET|KEY[,KEY...]]</c>; no path means $SSH_AUTH_SOCK.</summary>
    public static SshSource ParseSsh(string value, CliEnvironment environment)
    {
        var eq = value.IndexOf('=');
        var id = eq < 0 ? value : value[..eq];
        if (id.Length == 0) throw new UsageException($"invalid --ssh \"{value}\": expected default|ID[=SOCKET|KEY[,KEY]]");
        var paths = eq < 0 ? [] : value[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.Length == 0)
        {
            var agent = environment.Variable("SSH_AUTH_SOCK");
            if (string.IsNullOrEmpty(agent))
                throw new UsageException($"--ssh {id}: invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set");
            paths = [agent];
        }
        var source = new SshSource { Id = id };
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full) && !Path.Exists(full))
                throw new UsageException($"--ssh {id}: {full}: no such file or socket");
            source.Paths.Add(full);
        }
        return source;
    }

    public static async Task<SecretSource> ReadSecretAsync(string value, CliEnvironment environment, CancellationToken cancellationToken)
    {
        var fields = ParseCsv(value);
        if (!fields.TryGetValue("id", out var id) || id.Length == 0)
            throw new UsageException($"invalid --secret \"{value}\": id is required");
        fields.TryGetValue("type", out var type);
        string? src = fields.GetValueOrDefault("src") ?? fields.GetValueOrDefault("source");
        string? env = fields.GetValueOrDefault("env");
        if (type == "env" && env is null) env = src ?? id;
        if (src is null && env is null)
        {
            // buildx: with neither, an environment variable named like the id wins, else a file of that name.
            if (environment.Variable(id) is not null) env = id;
            else src = id;
        }
        byte[] bytes;
        if (env is not null)
        {
            bytes = System.Text.Encoding.UTF8.GetBytes(environment.Variable(env)
                ?? throw new UsageException($"secret {id}: environment variable {env} is not set"));
        }
        else
        {
            var path = Path.GetFullPath(src!);
            if (!File.Exists(path)) throw new UsageException($"secret {id}: open {path}: no such file or directory");
            bytes = await ReadBoundedAsync(path, id, cancellationToken);
        }
        if (bytes.Length > MaxSecretBytes) throw SecretTooLarge(id, env is not null ? $"environment variable {env}" : src!);
        return new SecretSource { Id = id, Value = ByteString.CopyFrom(bytes) };
    }

    /// <summary>BuildKit's limit: a secret is a token or a key file, and it travels in messages and sits in memory.</summary>
    public const int MaxSecretBytes = 500 * 1024;

    private static UsageException SecretTooLarge(string id, string source) =>
        new($"secret {id}: {source} is larger than the {MaxSecretBytes / 1024} KiB a secret may hold");

    // Reads at most one byte past the limit: a device (src=/dev/zero) or a huge file is refused, never loaded.
    private static async Task<byte[]> ReadBoundedAsync(string path, string id, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        var buffer = new byte[MaxSecretBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await file.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0) total += read;
        if (total > MaxSecretBytes) throw SecretTooLarge(id, path);
        return buffer[..total];
    }

    /// <summary>
    /// <c>--call NAME[,format=json]</c>, buildx 0.13's experimental <c>--print</c> (the same value) and <c>--check</c>: the
    /// call (""=build, check, outline, targets) and its format ("" or "json", which outline and targets take).
    /// </summary>
    public static (string Call, string Format) ParseCallFunction(string? call, string? print, bool check)
    {
        if (call is not null && print is not null && call != print)
            throw new UsageException($"--print={print} conflicts with --call={call}");
        var value = call ?? print;
        if (value is null) return (ParseCall(null, check), "");
        string? name = null;
        var format = "";
        // buildx reads the value as one CSV record: NAME, then key=value fields (format= only)
        foreach (var field in value.Split(','))
        {
            var eq = field.IndexOf('=');
            if (eq < 0)
            {
                if (name is not null) throw new UsageException($"invalid --call value: {value}");
                name = field;
            }
            else if (field[..eq] == "format") format = field[(eq + 1)..];
            else throw new UsageException($"invalid --call field: {field} (expected NAME[,format=json])");
        }
        var parsed = ParseCall(name ?? "", check);
        if (format.Length > 0 && format != "json")
            throw new UsageException($"--call {value}: format={format} is not supported (json)");
        if (format.Length > 0 && !(Coordinator.Builds.BuildCalls.IsOutline(parsed) || Coordinator.Builds.BuildCalls.IsTargets(parsed)))
            throw new UsageException($"--call {value}: format=json is supported for outline and targets only");
        return (parsed, format);
    }

    /// <summary><c>--call</c> and its shorthand <c>--check</c>, as buildx: "" builds; check runs the Dockerfile checks only.</summary>
    public static string ParseCall(string? call, bool check)
    {
        if (check)
        {
            if (call is not null && call != Coordinator.Builds.BuildCalls.Check)
                throw new UsageException($"--check conflicts with --call={call}");
            return Coordinator.Builds.BuildCalls.Check;
        }
        if (call is null || call.Length == 0 || call == Coordinator.Builds.BuildCalls.Build) return "";
        if (Coordinator.Builds.BuildCalls.Problem(call) is { } problem)
            throw new UsageException(problem);
        return call;
    }
}
