using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// BuildKit's Dockerfile checks (<c>docker buildx build --check</c>): the stable rules of its linter, run where BuildKit runs
/// them — while parsing (casing, MAINTAINER), over the stages (names, casing majority, FROM arguments and platform) and while
/// dispatching each instruction (undefined variables, JSON args, WORKDIR, legacy ENV/LABEL, secrets, EXPOSE, ignored COPY
/// sources). Pure: the build resolves base images and reads the .dockerignore before, and passes them in.
/// </summary>
public static class DockerfileLinter
{
    public static LintResult Lint(ParseResult parsed, LintInputs inputs) => new LintRun(parsed, inputs).Run();
}
