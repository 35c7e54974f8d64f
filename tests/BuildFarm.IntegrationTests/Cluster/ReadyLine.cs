namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// The one line a host prints when it is ready (the hosts' contract):
/// <c>buildfarm coordinator ready: api IP:PORT remoting akka.tcp://buildfarm@HOST:PORT</c> or
/// <c>buildfarm worker ready: id ID slots N health IP:PORT remoting akka.tcp://buildfarm@HOST:PORT</c>.
/// </summary>
public sealed record ReadyLine(FarmRole Role, IReadOnlyDictionary<string, string> Fields)
{
    public static string Prefix(FarmRole role) => $"buildfarm {(role == FarmRole.Coordinator ? "coordinator" : "worker")} ready:";

    public string? Api => Fields.GetValueOrDefault("api");
    public string Remoting => Fields.GetValueOrDefault("remoting") ?? throw new FormatException("the ready line names no remoting address");
    public string? Id => Fields.GetValueOrDefault("id");
    public int? Slots => Fields.TryGetValue("slots", out var s) && int.TryParse(s, out var n) ? n : null;

    /// <summary>Parses the key-value pairs after the prefix; a line that does not follow the contract is an error
    /// naming the line.</summary>
    public static ReadyLine Parse(FarmRole role, string line)
    {
        var prefix = Prefix(role);
        if (!line.StartsWith(prefix, StringComparison.Ordinal))
            throw new FormatException($"not a {role} ready line: '{line}'");
        var words = line[prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length % 2 != 0)
            throw new FormatException($"ready line '{line}': expected KEY VALUE pairs after '{prefix}'");
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i += 2) fields[words[i]] = words[i + 1];
        var ready = new ReadyLine(role, fields);
        _ = ready.Remoting;
        if (role == FarmRole.Coordinator && ready.Api is null) throw new FormatException($"ready line '{line}' names no api address");
        if (role == FarmRole.Worker && (ready.Id is null || ready.Slots is null)) throw new FormatException($"ready line '{line}' names no id or slots");
        return ready;
    }
}
