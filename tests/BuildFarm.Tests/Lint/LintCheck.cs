using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Coordinator.Dockerfile.Syntax;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Lint;

/// <summary>Runs the checks on a Dockerfile's text the way a build does (directive from the file unless given).</summary>
internal static class LintCheck
{
    public static LintResult Run(string dockerfile, PlanOptions? plan = null, string? check = null, PatternMatcher? ignore = null,
        IReadOnlySet<int>? dispatched = null)
    {
        var parsed = DockerfileParser.Parse(dockerfile, "Dockerfile");
        return DockerfileLinter.Lint(parsed, new LintInputs
        {
            Plan = plan ?? new PlanOptions(),
            Options = LintOptions.Parse(check ?? parsed.GetDirective("check")),
            Ignore = ignore,
            DispatchedStages = dispatched,
        });
    }

    public static string Print(string dockerfile, IReadOnlyList<LintWarning> warnings)
    {
        using var output = new StringWriter { NewLine = "\n" };
        LintReportWriter.WriteCheck(output, warnings, "Dockerfile", dockerfile);
        return output.ToString();
    }
}
