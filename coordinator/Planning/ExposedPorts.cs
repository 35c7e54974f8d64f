using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// EXPOSE specs → image config ExposedPorts keys ("port/proto"). Accepts [ip:[hostPort]:]containerPort[-end][/proto];
/// the ip and host port are accepted and ignored, ranges expand, tcp is the default protocol.
/// </summary>
public static class ExposedPorts
{
    public static IReadOnlyList<string> Parse(IEnumerable<string> specs)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            foreach (var port in ParseSpec(spec))
            {
                if (seen.Add(port))
                    result.Add(port);
            }
        }
        return result;
    }

    public static IReadOnlyList<string> ParseSpec(string spec)
    {
        var (ip, _, containerPart) = SplitParts(spec);
        var (proto, containerPort) = SplitProtoPort(containerPart);
        if (containerPort.Length == 0)
            throw new FormatException($"invalid port: \"{spec}\": no port specified");
        if (ip.Length > 0 && ip[0] == '[' && ip[^1] == ']')
            ip = ip[1..^1];
        if (ip.Length > 0 && !IsIpAddress(ip))
            throw new FormatException($"invalid IP address: {ip}");
        if (!TryParseRange(containerPort, out var start, out var end))
            throw new FormatException($"invalid containerPort: {containerPort}");
        var ports = new List<string>(end - start + 1);
        for (var p = start; p <= end; p++)
            ports.Add(p.ToString(CultureInfo.InvariantCulture) + "/" + proto);
        return ports;
    }

    private static (string Ip, string HostPort, string ContainerPort) SplitParts(string raw)
    {
        var parts = raw.Split(':');
        var n = parts.Length;
        return n switch
        {
            1 => ("", "", parts[0]),
            2 => ("", parts[0], parts[1]),
            3 => (parts[0], parts[1], parts[2]),
            // IPv6 addresses contain ':' themselves: everything before the last two parts is the address.
            _ => (string.Join(':', parts[..(n - 2)]), parts[n - 2], parts[n - 1]),
        };
    }

    private static (string Proto, string Port) SplitProtoPort(string raw)
    {
        var parts = raw.Split('/');
        if (raw.Length == 0 || parts[0].Length == 0)
            return ("", "");
        if (parts.Length == 1)
            return ("tcp", raw);
        return parts[1].Length == 0 ? ("tcp", parts[0]) : (parts[1].ToLowerInvariant(), parts[0]);
    }

    private static bool TryParseRange(string text, out int start, out int end)
    {
        start = end = 0;
        var dash = text.IndexOf('-');
        if (dash < 0)
        {
            if (!TryParsePort(text, out start))
                return false;
            end = start;
            return true;
        }
        return TryParsePort(text[..dash], out start) && TryParsePort(text[(dash + 1)..], out end) && end >= start;
    }

    private static bool TryParsePort(string text, out int port)
    {
        port = 0;
        if (text.Length == 0 || !text.All(char.IsAsciiDigit))
            return false;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535;
    }

    // Go's net.ParseIP: strict dotted quad, or an IPv6 address without a zone.
    private static bool IsIpAddress(string text)
    {
        if (text.Contains('%'))
            return false;
        if (text.Contains(':'))
            return IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p =>
            p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }
}
