using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Builds;

/// <summary>One target platform of a build: its own plan (TARGET* args), its bases pinned for that platform
/// (keyed by <see cref="ResolvedImageKey"/>), and its step graph once the keys are filled.</summary>
public sealed record PlatformBuild(PlatformSpec Platform, BuildPlan Plan, IReadOnlyDictionary<string, ResolvedImage> Resolved)
{
    public BuildGraph? Graph { get; init; }

    /// <summary>The engine's build id for this platform's graph: the build's own for a single platform, else one per platform.</summary>
    public string BuildIdWithin(string buildId, int platformCount) =>
        platformCount == 1 ? buildId : $"{buildId}-{Platform.ToString().Replace('/', '-')}";
}
