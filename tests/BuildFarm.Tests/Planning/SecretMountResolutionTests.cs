using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>Secret mount ids and targets against BuildKit's rule (dockerfile2llb/convert_secrets.go dispatchSecret:
/// id = id=, overridden by source=; else path.Base(target); the file at target=, else /run/secrets/path.Base(id),
/// none when env= is given without a target). The planner resolves once; the executed instruction and the key agree.</summary>
public class SecretMountResolutionTests
{
    private static (RunMount Executed, IReadOnlyDictionary<string, string> Key) PlanSecret(string mount, string prelude = "")
    {
        var plan = DockerfilePlanner.Plan($"FROM scratch\n{prelude}RUN --mount={mount} ./deploy\n", new PlanOptions(), "app.Dockerfile");
        var run = plan.Steps.Single(s => s.Kind == StepKind.Run);
        var executed = Assert.Single(((RunInstruction)run.Expanded!).Mounts).Literal!;
        return (executed, Assert.Single(run.Mounts));
    }

    [Fact]
    public void Source_names_the_secret_and_its_file_goes_under_run_secrets()
    {
        var (executed, key) = PlanSecret("type=secret,src=npmrc");
        Assert.Equal(("npmrc", "/run/secrets/npmrc", ""), (executed.CacheId, executed.Target, executed.Source));
        Assert.Equal(("npmrc", "/run/secrets/npmrc"), (key["id"], key["target"]));
    }

    [Fact]
    public void Target_without_id_names_the_secret_by_its_base_name()
    {
        var (executed, key) = PlanSecret("type=secret,target=/run/x/f");
        Assert.Equal(("f", "/run/x/f"), (executed.CacheId, executed.Target));
        Assert.Equal(("f", "/run/x/f"), (key["id"], key["target"]));
    }

    [Fact]
    public void Id_with_target_keeps_both()
    {
        var (executed, key) = PlanSecret("type=secret,id=token,target=/run/x/f");
        Assert.Equal(("token", "/run/x/f"), (executed.CacheId, executed.Target));
        Assert.Equal(("token", "/run/x/f"), (key["id"], key["target"]));
    }

    [Fact]
    public void A_source_with_a_path_keeps_it_as_the_id_and_uses_its_base_name_for_the_file()
    {
        var (executed, _) = PlanSecret("type=secret,source=team/npmrc");
        Assert.Equal(("team/npmrc", "/run/secrets/npmrc"), (executed.CacheId, executed.Target));
    }

    [Fact]
    public void Env_without_target_is_an_environment_variable_only()
    {
        var (executed, key) = PlanSecret("type=secret,id=token,env=TOKEN");
        Assert.Equal(("token", "", "TOKEN"), (executed.CacheId, executed.Target, executed.Env));
        Assert.Equal("token", key["id"]);
    }

    [Fact]
    public void Id_from_a_variable_is_resolved_after_expansion()
    {
        var (executed, _) = PlanSecret("type=secret,src=$NAME", "ARG NAME=npmrc\n");
        Assert.Equal(("npmrc", "/run/secrets/npmrc"), (executed.CacheId, executed.Target));
    }

    [Fact]
    public void Neither_id_source_nor_target_is_an_error_at_the_instruction()
    {
        var e = Assert.Throws<DockerfileException>(() => PlanSecret("type=secret,required"));
        Assert.StartsWith("app.Dockerfile:2", e.Message);
        Assert.Contains("one of source, target required", e.Message);
    }

    [Fact]
    public void A_source_that_expands_to_nothing_without_target_is_an_error_at_the_instruction()
    {
        var e = Assert.Throws<DockerfileException>(() => PlanSecret("type=secret,src=$EMPTY", "ARG EMPTY\n"));
        Assert.StartsWith("app.Dockerfile:3", e.Message);
        Assert.Contains("one of source, target required", e.Message);
    }
}
