using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Lint;

namespace BuildFarm.Coordinator.Planning;

/// <summary>What the checks see besides the Dockerfile: the build's options, the resolved base images, the .dockerignore.</summary>
public sealed record LintInputs
{
    public PlanOptions Plan { get; init; } = new();

    /// <summary>The file's <c># check=</c> directive or the <c>BUILDKIT_DOCKERFILE_CHECK</c> build-arg, already parsed.</summary>
    public LintOptions Options { get; init; } = LintOptions.None;

    /// <summary>The context's ignore patterns (CopyIgnoredFile), or null when the context has none.</summary>
    public PatternMatcher? Ignore { get; init; }

    /// <summary>Stages whose instructions are dispatched (a build's reachable ones); null = all (<c>--call=check</c>, as BuildKit's).</summary>
    public IReadOnlySet<int>? DispatchedStages { get; init; }
}
