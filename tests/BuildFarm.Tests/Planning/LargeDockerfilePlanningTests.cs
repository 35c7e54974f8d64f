using System.Diagnostics;
using System.Text;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class LargeDockerfilePlanningTests
{
    [Fact]
    public void Planning_ten_thousand_env_lines_is_linear_ish()
    {
        const int count = 10_000;
        var dockerfile = new StringBuilder("FROM scratch\n");
        for (var i = 0; i < count; i++)
            dockerfile.Append("ENV V").Append(i).Append("=value-").Append(i).Append('\n');
        dockerfile.Append("ENV V0=changed LAST=${V9999}/${V0}\nRUN echo hi\n");

        var clock = Stopwatch.StartNew();
        var plan = DockerfilePlanner.Plan(dockerfile.ToString(), new PlanOptions());
        clock.Stop();

        var run = plan.Steps.Single(s => s.SourceText == "RUN echo hi");
        // PATH from scratch, one entry per key, then LAST; V0 is replaced in place, not appended.
        Assert.Equal(count + 2, run.Config.Env.Count);
        Assert.Equal("V0=changed", run.Config.Env[1]);
        Assert.Equal("V9999=value-9999", run.Config.Env[^2]);
        Assert.Equal("LAST=value-9999/value-0", run.Config.Env[^1]);
        Assert.Equal("value-5000", run.Env["V5000"]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"planning took {clock.Elapsed}");
    }
}
