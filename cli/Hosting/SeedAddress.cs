using System.Globalization;
using System.Text.RegularExpressions;

namespace BuildFarm.Cli.Hosting;

/// <summary>
/// A seed node address: <c>akka.tcp://buildfarm@HOST:PORT</c>, <c>akka.ssl.tcp://buildfarm@HOST:PORT</c>, or the
/// shorthand <c>HOST:PORT</c>. Host remoting always runs over TLS, whose Akka protocol is <c>akka.ssl.tcp</c>: every
/// form becomes that address (a plain akka.tcp seed would never answer a TLS node).
/// </summary>
public static partial class SeedAddress
{
    public const string SystemName = "buildfarm";

    [GeneratedRegex(@"^akka(\.ssl)?\.tcp://(?<system>[^@/]+)@(?<host>[^/@]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex AkkaAddress();

    /// <summary>The seed as a full Akka address; null with <paramref name="error"/> saying what is wrong.</summary>
    public static string? TryParse(string text, out string error)
    {
        var value = text.Trim();
        var hostPort = value;
        if (value.Contains("://", StringComparison.Ordinal))
        {
            var match = AkkaAddress().Match(value);
            if (!match.Success)
            {
                error = "expected akka.tcp://buildfarm@HOST:PORT or HOST:PORT";
                return null;
            }
            if (match.Groups["system"].Value != SystemName)
            {
                error = $"the farm's actor system is named {SystemName}, not {match.Groups["system"].Value}";
                return null;
            }
            hostPort = match.Groups["host"].Value;
        }
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0)
        {
            error = "expected HOST:PORT (or akka.tcp://buildfarm@HOST:PORT)";
            return null;
        }
        var host = hostPort[..colon];
        var portText = hostPort[(colon + 1)..];
        if (Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
        {
            error = $"{host} is not a host name or IP address";
            return null;
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"port {portText}: expected a port from 1 to 65535";
            return null;
        }
        error = "";
        return $"akka.ssl.tcp://{SystemName}@{host}:{port}";
    }
}
