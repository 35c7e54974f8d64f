using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>Whether a worker's advertised platforms run a step's platform, and how (see <see cref="PlatformFit"/>).</summary>
public static class WorkerPlatformMatch
{
    /// <summary>The platform a step needs a worker for: a RUN's; "" for file operations, which run anywhere.</summary>
    public static string Required(StepDefinition definition) => definition.Run is not null ? definition.Platform : "";

    /// <param name="offered">What the worker advertised; empty (a worker that predates platforms, or a test double)
    /// counts as this host's native platform.</param>
    public static PlatformFit Fit(IReadOnlyList<WorkerPlatform> offered, string wanted)
    {
        if (wanted.Length == 0) return PlatformFit.Native;
        Platform target;
        try
        {
            target = Platform.Parse(wanted);
        }
        catch (FormatException)
        {
            return PlatformFit.None;
        }
        if (offered.Count == 0) return PlatformSpec.Native.ToPlatform().Matches(target) ? PlatformFit.Native : PlatformFit.None;
        var best = PlatformFit.None;
        foreach (var p in offered)
        {
            if (!Platform.Parse(p.Platform).Matches(target)) continue;
            var fit = p.Emulated ? PlatformFit.Emulated : PlatformFit.Native;
            if (fit > best) best = fit;
        }
        return best;
    }

    /// <summary>"linux/amd64, linux/arm64 (emulated)" for error lines and listings.</summary>
    public static string Describe(IReadOnlyList<WorkerPlatform> offered) =>
        offered.Count == 0 ? PlatformSpec.Native.ToString() : string.Join(", ", offered.Select(p => p.Emulated ? p.Platform + " (emulated)" : p.Platform));
}
