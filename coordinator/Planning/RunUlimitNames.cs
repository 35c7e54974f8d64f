namespace BuildFarm.Coordinator.Planning;

/// <summary>docker's ulimit names and the rlimits they set (go-units' ulimit table); the worker maps a name as RLIMIT_ + NAME.</summary>
public static class RunUlimitNames
{
    private static readonly Dictionary<string, string> Rlimits = new(StringComparer.Ordinal)
    {
        ["core"] = "RLIMIT_CORE", ["cpu"] = "RLIMIT_CPU", ["data"] = "RLIMIT_DATA", ["fsize"] = "RLIMIT_FSIZE",
        ["locks"] = "RLIMIT_LOCKS", ["memlock"] = "RLIMIT_MEMLOCK", ["msgqueue"] = "RLIMIT_MSGQUEUE", ["nice"] = "RLIMIT_NICE",
        ["nofile"] = "RLIMIT_NOFILE", ["nproc"] = "RLIMIT_NPROC", ["rss"] = "RLIMIT_RSS", ["rtprio"] = "RLIMIT_RTPRIO",
        ["rttime"] = "RLIMIT_RTTIME", ["sigpending"] = "RLIMIT_SIGPENDING", ["stack"] = "RLIMIT_STACK", ["as"] = "RLIMIT_AS",
    };

    public static IReadOnlyCollection<string> Names => Rlimits.Keys;

    /// <summary>The OCI rlimit type ("RLIMIT_NOFILE") of a docker ulimit name ("nofile"); null when unknown.</summary>
    public static string? RlimitOf(string name) => Rlimits.GetValueOrDefault(name);
}
