using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// Dockerfile → <see cref="BuildPlan"/>, the dockerfile2llb part of the frontend: global ARGs and build args (with the
/// platform and proxy args), base-name expansion, stage references, --target, cycle detection, pruning, ARG/ENV scoping,
/// variable expansion where the Dockerfile reference says, ONBUILD triggers of base stages, and the step DAG.
/// </summary>
public static class DockerfilePlanner
{
    /// <exception cref="DockerfileException">for any error, with file:line:column and what was expected.</exception>
    public static BuildPlan Plan(string dockerfileText, PlanOptions options, string fileName = "Dockerfile") =>
        Plan(StageParser.ParseStages(dockerfileText, fileName), options, fileName);

    public static BuildPlan Plan(DockerfileStages stages, PlanOptions options, string fileName = "Dockerfile") =>
        new PlannerRun(stages, options, fileName).Run();
}
