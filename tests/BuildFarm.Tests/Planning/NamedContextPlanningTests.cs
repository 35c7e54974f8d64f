using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>--build-context as the planner sees it: a name that FROM and --from resolve to an image or another stage.</summary>
public sealed class NamedContextPlanningTests
{
    private static BuildPlan Plan(string dockerfile, PlanOptions options) => DockerfilePlanner.Plan(dockerfile, options, "Dockerfile");

    [Fact]
    public void Named_image_replaces_the_from_image()
    {
        var plan = Plan("FROM alpine\nRUN true\n", new PlanOptions { NamedContextImages = new Dictionary<string, string> { ["alpine"] = "registry.local/base:1" } });

        Assert.Equal(["registry.local/base:1"], plan.ExternalImages);
    }

    [Fact]
    public void Named_image_overrides_the_stage_of_its_name()
    {
        var plan = Plan("FROM scratch AS tools\nCOPY a /a\nFROM scratch\nCOPY --from=tools /a /a\n",
            new PlanOptions { NamedContextImages = new Dictionary<string, string> { ["tools"] = "context://tools" } });

        var copy = plan.Steps.Single(s => s.Sources.Count > 0);
        Assert.Equal(new StepSource(StepSourceKind.Image, "context://tools"), copy.Sources[0]);
        Assert.DoesNotContain(plan.Steps, s => s.StageName == "tools"); // the stage itself is no longer needed
    }

    [Fact]
    public void Target_context_points_from_at_another_stage()
    {
        var plan = Plan("FROM scratch AS real\nCOPY a /a\nFROM scratch\nCOPY --from=other /a /a\n",
            new PlanOptions { NamedContextStages = new Dictionary<string, string> { ["other"] = "real" } });

        var copy = plan.Steps.Single(s => s.Sources.Count > 0 && s.StageIndex == 1);
        Assert.Equal(0, copy.Sources[0].StageIndex);
    }

    [Fact]
    public void Target_context_naming_no_stage_is_the_dockerfiles_error()
    {
        var e = Assert.Throws<DockerfileException>(() => Plan("FROM scratch\nCOPY --from=other /a /a\n",
            new PlanOptions { NamedContextStages = new Dictionary<string, string> { ["other"] = "nope" } }));

        Assert.Contains("target:nope names no stage", e.Message);
        Assert.Equal(2, e.Line);
    }
}
