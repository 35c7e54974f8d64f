using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary>The run options of <c>build</c> (--network, --add-host, --shm-size, --ulimit), parsed as buildx and docker's
/// go-units parse them, with the same refusals.</summary>
public static partial class RunOptionArguments
{
    public static IReadOnlyList<string> Networks { get; } = ["default", "none", "host"];

    public static string ParseNetwork(string? value)
    {
        if (value is null or "default") return "";
        if (!Networks.Contains(value))
            throw new UsageException($"--network {value}: network mode not supported (supported: {string.Join(", ", Networks)})");
        return value;
    }

    /// <summary><c>HOST:IP</c> or <c>HOST=IP</c>; an IPv6 address may be in brackets.</summary>
    public static ExtraHost ParseExtraHost(string value)
    {
        var cut = value.IndexOf('=');
        if (cut < 0) cut = value.IndexOf(':');
        var host = cut < 0 ? "" : value[..cut];
        var ip = cut < 0 ? "" : value[(cut + 1)..];
        if (ip.Length > 2 && ip[0] == '[' && ip[^1] == ']') ip = ip[1..^1];
        if (host.Length == 0 || ip.Length == 0 || !IPAddress.TryParse(ip, out _))
            throw new UsageException($"--add-host {value}: invalid host (expected HOST:IP, e.g. db:10.0.0.5)");
        return new ExtraHost { Host = host, Ip = ip };
    }

    /// <summary>docker's RAMInBytes: a number with an optional binary unit (b, k, m, g, t, p; "64m", "1GiB").</summary>
    public static long ParseShmSize(string? value)
    {
        if (value is null) return 0;
        var match = Size().Match(value);
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            throw new UsageException($"--shm-size {value}: invalid size (expected bytes or a number with k, m, g: 64m)");
        var unit = match.Groups[2].Value.ToLowerInvariant();
        var shift = unit switch { "" => 0, "k" => 10, "m" => 20, "g" => 30, "t" => 40, _ => 50 };
        var bytes = number * Math.Pow(2, shift);
        if (bytes <= 0 || bytes > long.MaxValue)
            throw new UsageException($"--shm-size {value}: must be more than 0 bytes");
        return (long)bytes;
    }

    /// <summary>go-units ParseUlimit: <c>NAME=SOFT[:HARD]</c>, HARD = SOFT when absent, -1 = unlimited.</summary>
    public static Ulimit ParseUlimit(string value)
    {
        var eq = value.IndexOf('=');
        if (eq < 0) throw new UsageException($"--ulimit {value}: invalid ulimit argument (expected NAME=SOFT[:HARD], e.g. nofile=1024:2048)");
        var name = value[..eq];
        if (Coordinator.Planning.RunUlimitNames.RlimitOf(name) is null)
            throw new UsageException($"--ulimit {value}: invalid ulimit type: {name} (known: {string.Join(", ", Coordinator.Planning.RunUlimitNames.Names)})");
        var limits = value[(eq + 1)..].Split(':');
        if (limits.Length > 2 || !long.TryParse(limits[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var soft))
            throw new UsageException($"--ulimit {value}: too many limit value arguments or not a number - {value[(eq + 1)..]}, can only have up to two, `soft[:hard]`");
        var hard = soft;
        if (limits.Length == 2 && !long.TryParse(limits[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out hard))
            throw new UsageException($"--ulimit {value}: invalid hard limit {limits[1]}");
        if (soft < -1 || hard < -1 || (hard != -1 && (soft == -1 || soft > hard)))
            throw new UsageException($"--ulimit {value}: ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
        return new Ulimit { Name = name, Soft = soft, Hard = hard };
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")]
    private static partial Regex Size();
}
