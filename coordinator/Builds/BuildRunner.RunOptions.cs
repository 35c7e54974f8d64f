using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Builds;

/// <summary>The spec's run options (--network, --add-host, --shm-size, --ulimit) as the planner takes them.</summary>
public sealed partial class BuildRunner
{
    private static RunOptions RunOptionsOf(BuildSpec spec) => new()
    {
        Network = spec.Network.Length == 0 ? RunNetwork.Default : spec.Network,
        ExtraHosts = spec.ExtraHosts.Select(h => new RunExtraHost(h.Host, h.Ip)).ToArray(),
        ShmSize = spec.ShmSize,
        Ulimits = spec.Ulimits.Select(u => new RunUlimit(u.Name, u.Soft, u.Hard)).ToArray(),
    };

    /// <summary>Why the spec's run options cannot be used (a served client may send anything); null when they can.</summary>
    private static string? RunOptionsProblem(BuildSpec spec)
    {
        if (spec.Network.Length > 0 && !RunNetwork.IsValid(spec.Network))
            return $"network mode {GoQuote(spec.Network)} not supported (supported: default, none, host)";
        if (spec.ShmSize < 0)
            return $"invalid shm size {spec.ShmSize}: it must be positive";
        foreach (var host in spec.ExtraHosts)
        {
            if (host.Host.Length == 0 || host.Host.Any(c => char.IsWhiteSpace(c) || c == ':'))
                return $"invalid host {GoQuote(host.Host)} in --add-host";
            if (!System.Net.IPAddress.TryParse(host.Ip, out _))
                return $"invalid IP address {GoQuote(host.Ip)} in --add-host {host.Host}";
        }
        foreach (var ulimit in spec.Ulimits)
        {
            if (RunUlimitNames.RlimitOf(ulimit.Name) is null)
                return $"invalid ulimit type: {ulimit.Name}";
            if (ulimit.Hard != -1 && (ulimit.Soft == -1 || ulimit.Soft > ulimit.Hard))
                return $"ulimit soft limit must be less than or equal to hard limit: {ulimit.Soft} > {ulimit.Hard}";
        }
        return null;
    }

    private static string GoQuote(string value) => Dockerfile.GoQuote.Quote(value);
}
