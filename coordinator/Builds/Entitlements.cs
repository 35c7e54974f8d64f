using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Coordinator.Builds;

/// <summary>What a build may do beyond a contained RUN, granted by its user (<c>--allow</c>, as buildx's).</summary>
public static class Entitlements
{
    /// <summary>RUN --security=insecure: the step runs privileged (all capabilities, no seccomp, no masked paths).</summary>
    public const string SecurityInsecure = "security.insecure";

    /// <summary>RUN --network=host (or the build's --network=host): the step shares the worker's network.</summary>
    public const string NetworkHost = "network.host";

    public static IReadOnlyList<string> Known { get; } = [SecurityInsecure, NetworkHost];

    /// <summary>The first step that needs an entitlement the build was not granted or the server does not allow, with
    /// BuildKit's words; null when none. An entitlement counts when the build was granted it and the server allows it.</summary>
    public static (string Error, PlannedStep Step)? FirstDenied(BuildPlan plan, IEnumerable<string> granted, IEnumerable<string> serverAllows)
    {
        var grantedSet = granted.ToHashSet(StringComparer.Ordinal);
        var serverSet = serverAllows.ToHashSet(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            if (step.Expanded is not RunInstruction run) continue;
            foreach (var (needed, what) in Needs(run))
            {
                if (!grantedSet.Contains(needed))
                    return ($"{needed} is not allowed ({what} runs only in a build granted it: --allow {needed})", step);
                if (!serverSet.Contains(needed))
                    return ($"{needed} is not allowed by this server (start it with --allow-insecure-entitlement {needed})", step);
            }
        }
        return null;
    }

    private static IEnumerable<(string Entitlement, string What)> Needs(RunInstruction run)
    {
        if (run.Security == RunSecurity.Insecure) yield return (SecurityInsecure, "RUN --security=insecure");
        if (run.Network == RunNetwork.Host) yield return (NetworkHost, "RUN --network=host");
    }
}
