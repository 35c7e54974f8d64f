using System.CommandLine;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.Planning;

public class PlanCommandTests
{
    private static string SampleContext() =>
        Path.Combine(AppContext.BaseDirectory, "Planning", "TestData", "multi-stage");

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand("buildfarm");
        foreach (var command in CommandCatalog.Create(CliEnvironment.From(new System.Collections.Hashtable())))
            root.Subcommands.Add(command);
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private static string LineOf(string output, string stepId) =>
        output.Split('\n').Single(l => l.TrimStart().StartsWith(stepId + " ", StringComparison.Ordinal));

    private static List<string> Level(string output, int level)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var start = lines.IndexOf($"level {level}:");
        Assert.True(start >= 0, $"no level {level} in:\n{output}");
        return lines.Skip(start + 1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[0]).ToList();
    }

    [Fact]
    public void Plan_prints_the_stages_and_the_steps_grouped_by_parallel_level()
    {
        var ctx = SampleContext();
        var (exit, output, error) = Run("plan", "-f", Path.Combine(ctx, "Dockerfile"), ctx);

        Assert.True(exit == 0, error);
        Assert.Contains("Target:     app", output);
        Assert.Contains("(ignore file: .dockerignore)", output);
        Assert.Matches(@"2 test\s+.*FROM stage build\s+\(pruned: not needed by the target\)", output);
        Assert.Equal(["s0.0", "s1.0", "s3.0"], Level(output, 0));
        Assert.Equal(["s0.1", "s1.1"], Level(output, 1));
        Assert.Equal(["s3.3"], Level(output, 6));
        Assert.DoesNotContain("s2.", output);

        var copyFromBuild = LineOf(output, "s3.1");
        Assert.Contains("Dockerfile:15", copyFromBuild);
        Assert.Contains("COPY --from=build /out/app /app", copyFromBuild);
        Assert.Contains("<- s3.0, s0.3 (build)", copyFromBuild);
        Assert.Contains("FROM golang:${GO_VERSION} AS build", LineOf(output, "s0.0"));
    }

    [Fact]
    public void Plan_follows_the_target_and_build_args()
    {
        var ctx = SampleContext();
        var (exit, output, error) = Run("plan", "-f", Path.Combine(ctx, "Dockerfile"), "--target", "TEST", "--build-arg", "GO_VERSION=1.23", ctx);

        Assert.True(exit == 0, error);
        Assert.Contains("Target:     test", output);
        Assert.Contains("FROM image golang:1.23", output);
        Assert.Contains("RUN go test ./...", LineOf(output, "s2.1"));
        Assert.Matches(@"1 assets\s+.*\(pruned", output);
    }

    [Fact]
    public void Plan_defaults_to_the_dockerfile_in_the_context()
    {
        var (exit, output, error) = Run("plan", SampleContext());
        Assert.True(exit == 0, error);
        Assert.Contains("Dockerfile: Dockerfile", output);
    }

    [Fact]
    public void Plan_reports_an_unknown_target_as_an_error()
    {
        var ctx = SampleContext();
        var (exit, _, error) = Run("plan", "--target", "nosuch", ctx);
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", error);
        Assert.Contains("target stage \"nosuch\" could not be found", error);
    }

    [Fact]
    public void Plan_rejects_a_malformed_build_arg_and_several_platforms()
    {
        var ctx = SampleContext();
        Assert.Contains("expected KEY=VALUE", Run("plan", "--build-arg", "=x", ctx).Error);
        Assert.Contains("one platform at a time", Run("plan", "--platform", "linux/amd64,linux/arm64", ctx).Error);
    }
}
