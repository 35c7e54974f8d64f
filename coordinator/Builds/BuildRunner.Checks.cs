using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using LintWarning = BuildFarm.Coordinator.Dockerfile.Lint.LintWarning;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Coordinator.Dockerfile.Syntax;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Builds;

/// <summary>The Dockerfile checks of a build (BuildKit's linter): after planning, with the resolved bases' environment.</summary>
public sealed partial class BuildRunner
{
    /// <summary>The build-arg that replaces the file's <c># check=</c> directive (as BuildKit's dockerui).</summary>
    public const string CheckBuildArg = "BUILDKIT_DOCKERFILE_CHECK";

    /// <exception cref="DockerfileException">the check options (directive or build-arg) do not parse.</exception>
    private static async Task<LintResult> CheckAsync(BuildSpec spec, string text, string fileName, PlanOptions options, BuildPlan? plan,
        string contextDirectory, CancellationToken cancellationToken)
    {
        var parsed = DockerfileParser.Parse(text, fileName);
        var setting = spec.BuildArgs.TryGetValue(CheckBuildArg, out var given) ? given : parsed.GetDirective("check");
        LintOptions lintOptions;
        try
        {
            lintOptions = LintOptions.Parse(setting);
        }
        catch (FormatException e)
        {
            throw new DockerfileException("failed to parse check options: " + e.Message, fileName);
        }
        var ignore = IgnoreFileLocator.Find(contextDirectory, DockerfileInContext(spec, contextDirectory)) is null
            ? null
            : await IgnoreFileLocator.LoadAsync(contextDirectory, DockerfileInContext(spec, contextDirectory), cancellationToken);
        return DockerfileLinter.Lint(parsed, new LintInputs
        {
            Plan = options,
            Options = lintOptions,
            Ignore = ignore,
            // A check looks at every stage; a build dispatches (and BuildKit lints) only the stages its target needs.
            DispatchedStages = BuildCalls.IsCheck(spec.Call) || plan is null
                ? null
                : plan.Stages.Where(s => !s.Pruned).Select(s => s.Index).ToHashSet(),
        });
    }

    /// <summary>A check whose Dockerfile does not plan still reports what it found before the error (as BuildKit's).</summary>
    private static async Task<IReadOnlyList<LintWarning>> WarningsDespiteAsync(BuildSpec spec, string text, string fileName, PlanOptions options,
        string contextDirectory, CancellationToken cancellationToken)
    {
        if (!BuildCalls.IsCheck(spec.Call)) return [];
        try
        {
            return (await CheckAsync(spec, text, fileName, options, null, contextDirectory, cancellationToken)).Warnings;
        }
        catch (DockerfileException)
        {
            return [];
        }
    }
}
