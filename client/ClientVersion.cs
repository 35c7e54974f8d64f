using System.Reflection;

namespace BuildFarm.Client;

/// <summary>The version a client and its engine must share: the informational version (with the commit), as the managed
/// CLI's, unless BUILDFARM_VERSION_OVERRIDE stands in for it (tests play an older CLI with it, as for the managed one).</summary>
public static class ClientVersion
{
    public static string Current =>
        Environment.GetEnvironmentVariable("BUILDFARM_VERSION_OVERRIDE") is { Length: > 0 } overridden
            ? overridden
            : typeof(ClientVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";
}
