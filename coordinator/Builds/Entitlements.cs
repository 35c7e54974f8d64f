using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Coordinator.Builds;

/// <summary>What a build may do beyond a contained RUN, granted by its user (<c>--allow</c>, as buildx's).</summary>
public static class Entitlements
{
    /// <summary>RUN --security=insecure: the step runs privileged (all capabilities, no seccomp, no masked paths).</summary>
    public const string SecurityInsecure = "security.insecure";

    public static IReadOnlyList<string> Known { get; } = [SecurityInsecure];

    /// <summary>The first step that needs an entitlement the build was not granted, with BuildKit's message; null when none.</summary>
    /// <summary>An entitlement counts when the build was granted it and the server allows it.</summary>
    public static (string Error, PlannedStep Step)? FirstDenied(BuildPlan plan, IEnumerable<string> granted, IEnumerable<string> serverAllows)
    {
        var grantedSet = granted.ToHashSet(StringComparer.Ordinal);
        var serverSet = serverAllows.ToHashSet(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            if (step.Expanded is not RunInstruction { Security: RunSecurity.Insecure }) continue;
            if (!grantedSet.Contains(SecurityInsecure))
                return ($"{SecurityInsecure} is not allowed (RUN --security=insecure runs only in a build granted it: --allow {SecurityInsecure})", step);
            if (!serverSet.Contains(SecurityInsecure))
                return ($"{SecurityInsecure} is not allowed by this server (start it with --allow-insecure-entitlement {SecurityInsecure})", step);
        }
        return null;
    }
}
