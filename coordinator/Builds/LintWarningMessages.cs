using BuildFarm.Coordinator.Dockerfile.Lint;

namespace BuildFarm.Coordinator.Builds;

/// <summary>Check findings to and from the wire (BuildResult/BuildError.lint_warnings).</summary>
public static class LintWarningMessages
{
    public static Protos.V1.LintWarning ToMessage(LintWarning warning) => new()
    {
        RuleName = warning.RuleName,
        Description = warning.Description,
        Url = warning.Url,
        Detail = warning.Detail,
        StartLine = warning.StartLine,
        EndLine = warning.EndLine,
    };

    public static LintWarning FromMessage(Protos.V1.LintWarning message) =>
        new(message.RuleName, message.Description, message.Url, message.Detail, message.StartLine, message.EndLine);
}
