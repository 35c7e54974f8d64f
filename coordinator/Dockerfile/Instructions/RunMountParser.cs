using System.Globalization;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Parses <c>RUN --mount</c> values with BuildKit's rules and messages.</summary>
public static class RunMountParser
{
    private static readonly string[] AllKeys =
        ["type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"];

    /// <summary>Parse-time view: fully typed when the value has no variables; otherwise only the checks BuildKit makes before expansion.</summary>
    public static RunMountSpec ParseSpec(string text)
    {
        var fields = CsvFields.Parse(text, "failed to parse csv mounts");
        foreach (var field in fields)
        {
            var eq = field.IndexOf('=');
            if (eq >= 0 && field[..eq].Equals("from", StringComparison.OrdinalIgnoreCase))
            {
                var value = field[(eq + 1)..];
                var dollar = value.IndexOf('$');
                if (dollar != -1 && dollar != value.Length - 1)
                {
                    throw new DockerfileException("'from' doesn't support variable expansion, define alias stage instead");
                }
            }
        }
        if (text.Contains('$'))
        {
            try
            {
                return new RunMountSpec(text, Parse(text, v => v));
            }
            catch (DockerfileException)
            {
                // Might be valid once variables are expanded; checked again then.
                return new RunMountSpec(text, null);
            }
        }
        return new RunMountSpec(text, Parse(text, v => v));
    }

    /// <summary>Parses one mount, expanding each option value.</summary>
    public static RunMount Parse(string text, Func<string, string> expand)
    {
        var fields = CsvFields.Parse(text, "failed to parse csv mounts");
        var m = new RunMount();
        var roAuto = true;
        foreach (var field in fields)
        {
            var eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field[..eq]).ToLowerInvariant();
            if (eq < 0)
            {
                switch (key)
                {
                    case "readonly" or "ro":
                        m = m with { ReadOnly = true };
                        roAuto = false;
                        continue;
                    case "readwrite" or "rw":
                        m = m with { ReadOnly = false };
                        roAuto = false;
                        continue;
                    case "required":
                        if (m.Type is MountType.Secret or MountType.Ssh)
                        {
                            m = m with { Required = true };
                            continue;
                        }
                        throw new DockerfileException($"unexpected key '{key}' for mount type '{TypeName(m.Type)}'");
                    default:
                        throw new DockerfileException($"invalid field '{field}' must be a key=value pair");
                }
            }
            var value = expand(field[(eq + 1)..]);
            switch (key)
            {
                case "type":
                    m = m with { Type = ParseType(value) };
                    break;
                case "from":
                    m = m with { From = value };
                    break;
                case "source" or "src":
                    m = m with { Source = value };
                    break;
                case "target" or "dst" or "destination":
                    m = m with { Target = value };
                    break;
                case "readonly" or "ro":
                    m = m with { ReadOnly = GoParse.Bool(value) ?? throw new DockerfileException($"invalid value for {key}: {value}") };
                    roAuto = false;
                    break;
                case "readwrite" or "rw":
                    m = m with { ReadOnly = !(GoParse.Bool(value) ?? throw new DockerfileException($"invalid value for {key}: {value}")) };
                    roAuto = false;
                    break;
                case "required":
                    if (m.Type is not (MountType.Secret or MountType.Ssh))
                    {
                        throw new DockerfileException($"unexpected key '{key}' for mount type '{TypeName(m.Type)}'");
                    }
                    m = m with { Required = GoParse.Bool(value) ?? throw new DockerfileException($"invalid value for {key}: {value}") };
                    break;
                case "size":
                    if (m.Type != MountType.Tmpfs)
                    {
                        throw new DockerfileException($"unexpected key '{key}' for mount type '{TypeName(m.Type)}'");
                    }
                    m = m with { SizeLimit = RamInBytes(value) ?? throw new DockerfileException($"invalid value for {key}: {value}") };
                    break;
                case "id":
                    m = m with { CacheId = value };
                    break;
                case "sharing":
                    m = m with { CacheSharing = value.ToLowerInvariant() switch
                    {
                        "shared" => MountSharing.Shared,
                        "private" => MountSharing.Private,
                        "locked" => MountSharing.Locked,
                        _ => throw new DockerfileException($"unsupported sharing value {GoQuote.Quote(value)}"),
                    } };
                    break;
                case "mode":
                    m = m with { Mode = GoParse.UInt32(value, 8) ?? throw new DockerfileException($"invalid value {value} for mode") };
                    break;
                case "uid":
                    m = m with { Uid = GoParse.UInt32(value, 10) ?? throw new DockerfileException($"invalid value {value} for uid") };
                    break;
                case "gid":
                    m = m with { Gid = GoParse.UInt32(value, 10) ?? throw new DockerfileException($"invalid value {value} for gid") };
                    break;
                case "env":
                    m = m with { Env = value };
                    break;
                default:
                    throw new DockerfileException(Suggest.Wrap($"unexpected key '{key}' in '{field}'", key, AllKeys));
            }
        }

        if (m.Type is not (MountType.Secret or MountType.Ssh or MountType.Cache))
        {
            if (m.Mode != null)
            {
                throw new DockerfileException($"mode not allowed for {GoQuote.Quote(TypeName(m.Type))} type mounts");
            }
            if (m.Uid != null)
            {
                throw new DockerfileException($"uid not allowed for {GoQuote.Quote(TypeName(m.Type))} type mounts");
            }
            if (m.Gid != null)
            {
                throw new DockerfileException($"gid not allowed for {GoQuote.Quote(TypeName(m.Type))} type mounts");
            }
        }
        if (roAuto)
        {
            m = m with { ReadOnly = m.Type is not (MountType.Cache or MountType.Tmpfs) };
        }
        if (m.Type == MountType.Secret)
        {
            if (m.From.Length != 0)
            {
                throw new DockerfileException("secret mount should not have a from");
            }
            if (m.CacheSharing != null)
            {
                throw new DockerfileException("secret mount should not define sharing");
            }
            if (m.Source.Length == 0 && m.Target.Length == 0 && m.CacheId.Length == 0)
            {
                throw new DockerfileException("invalid secret mount. one of source, target required");
            }
            if (m.Source.Length != 0 && m.CacheId.Length != 0)
            {
                throw new DockerfileException("both source and id can't be set");
            }
        }
        if (m.CacheSharing != null && m.Type != MountType.Cache)
        {
            throw new DockerfileException($"invalid cache sharing set for {TypeName(m.Type)} mount");
        }
        return m;
    }

    public static string TypeName(MountType type) => type.ToString().ToLowerInvariant();

    private static MountType ParseType(string value) => value.ToLowerInvariant() switch
    {
        "bind" => MountType.Bind,
        "cache" => MountType.Cache,
        "tmpfs" => MountType.Tmpfs,
        "secret" => MountType.Secret,
        "ssh" => MountType.Ssh,
        _ => throw new DockerfileException(Suggest.Wrap($"unsupported mount type {GoQuote.Quote(value)}", value, ["bind", "cache", "tmpfs", "secret", "ssh"])),
    };

    /// <summary>docker/go-units RAMInBytes: a number with an optional binary unit (k, m, g, t, p; optional "b"/"ib"), case-insensitive.</summary>
    private static long? RamInBytes(string size)
    {
        var s = size.Trim();
        var i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }
        if (i == 0 || !decimal.TryParse(s[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }
        var unit = s[i..].Trim().ToLowerInvariant();
        decimal multiplier = unit switch
        {
            "" or "b" => 1m,
            "k" or "kb" or "kib" => 1024m,
            "m" or "mb" or "mib" => 1024m * 1024,
            "g" or "gb" or "gib" => 1024m * 1024 * 1024,
            "t" or "tb" or "tib" => 1024m * 1024 * 1024 * 1024,
            "p" or "pb" or "pib" => 1024m * 1024 * 1024 * 1024 * 1024,
            _ => -1m,
        };
        if (multiplier < 0 || number > long.MaxValue / multiplier)
        {
            return null;
        }
        return (long)decimal.Truncate(number * multiplier);
    }
}
