using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>Fault injection (issue 17, item 5): a bad --chmod is a Dockerfile error with file:line, not a raw .NET message.</summary>
public sealed class ChmodValidationTests
{
    [Theory]
    [InlineData("COPY --chmod=-1 a /a")]
    [InlineData("COPY --chmod=17777 a /a")]
    [InlineData("ADD --chmod=99999999999999999999 a /a")]
    [InlineData("COPY --chmod=u+q a /a")]
    [InlineData("COPY --chmod=rwx a /a")]
    [InlineData("ARG M=7778\nCOPY --chmod=$M a /a")]
    public void Bad_chmod_is_a_dockerfile_error_naming_the_mode_and_line(string instruction)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfilePlanner.Plan($"FROM scratch\n{instruction}\n", new PlanOptions(), "app.Dockerfile"));

        Assert.Contains("invalid chmod parameter", e.Message);
        Assert.Equal(instruction.Count(c => c == '\n') + 2, e.Line);
        Assert.Equal("app.Dockerfile", e.FileName);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("755")]
    [InlineData("4755")]
    [InlineData("07777")]
    public void Octal_chmod_up_to_7777_plans(string mode) =>
        DockerfilePlanner.Plan($"FROM scratch\nCOPY --chmod={mode} a /a\n", new PlanOptions(), "app.Dockerfile");

    [Theory]
    [InlineData("u=rwx,go=rx")]
    [InlineData("a+X")]
    [InlineData("go-r")]
    [InlineData("+x")]
    public void Symbolic_chmod_plans_as_in_buildkit(string mode) =>
        DockerfilePlanner.Plan($"FROM scratch\nCOPY --chmod={mode} a /a\n", new PlanOptions(), "app.Dockerfile");
}
