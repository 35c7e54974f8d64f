using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class ConvertCorpusTests
{
    public static TheoryData<int> ConvertCases => ConvertCorpus.Indexes("convert");

    [Theory]
    [MemberData(nameof(ConvertCases))]
    public void Whole_dockerfiles_plan_or_fail_like_dockerfile2llb(int index)
    {
        var c = ConvertCorpus.Array("convert")[index]!;
        var dockerfile = (string)c["dockerfile"]!;
        var options = new PlanOptions { Target = (string?)c["target"] };

        if (!(bool)c["ok"]!)
        {
            var e = Assert.Throws<DockerfileException>(() => DockerfilePlanner.Plan(dockerfile, options));
            if (c["error"] is not null)
                Assert.Equal((string)c["error"]!, e.Reason);
            return;
        }

        var plan = DockerfilePlanner.Plan(dockerfile, options);
        Assert.NotEmpty(plan.Steps);
        if (c["expectedFinalImageLabels"] is { } labels)
        {
            var expected = labels.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);
            Assert.Equal(expected.OrderBy(p => p.Key), plan.Target.FinalConfig!.Labels.OrderBy(p => p.Key));
        }
    }
}
