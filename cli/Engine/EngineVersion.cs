using System.Reflection;

namespace BuildFarm.Cli.Engine;

/// <summary>The version a client and its engine must share: the CLI's informational version (with the commit), unless
/// BUILDFARM_VERSION_OVERRIDE stands in for it (tests play an older CLI with it).</summary>
public static class EngineVersion
{
    public static string Of(CliEnvironment environment) =>
        environment.Variable("BUILDFARM_VERSION_OVERRIDE") is { Length: > 0 } overridden ? overridden : Informational;

    public static string Informational { get; } =
        typeof(EngineVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";
}
