using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>--call=outline as the planner captures it (BuildKit's dockerfile2llb outline.go): the args, secrets and ssh ids
/// the target and the stages it needs read.</summary>
public sealed class OutlinePlanningTests
{
    private static PlanOutline Outline(string dockerfile, string target = "", Dictionary<string, string>? buildArgs = null) =>
        DockerfilePlanner.Plan(dockerfile, new PlanOptions { Target = target, BuildArgs = buildArgs ?? new Dictionary<string, string>() }, "Dockerfile").Outline;

    private const string Args = """
        # VERSION the release to build
        ARG VERSION=1.0
        ARG UNUSED=x
        # build compiles it
        FROM scratch AS build
        ARG VERSION
        # MODE how to build
        ARG MODE=fast-${VERSION}
        ARG BARE

        """;

    [Fact]
    public void Outline_lists_the_args_the_target_declares_with_values_and_doc_comments()
    {
        var outline = Outline(Args);

        Assert.Equal(("build", "compiles it"), (outline.Name, outline.Description));
        Assert.Equal([("VERSION", "1.0", "the release to build", 2), ("MODE", "fast-1.0", "how to build", 8), ("BARE", "", "", 9)],
            outline.Args.Select(a => (a.Name, a.Value, a.Description, a.Location.StartLine)));
    }

    [Fact]
    public void Outline_values_take_the_build_args()
    {
        var outline = Outline(Args, buildArgs: new() { ["VERSION"] = "2.0", ["MODE"] = "slow" });

        Assert.Equal([("VERSION", "2.0"), ("MODE", "slow"), ("BARE", "")], outline.Args.Select(a => (a.Name, a.Value)));
    }

    [Fact]
    public void Outline_counts_a_global_arg_read_by_from_and_the_args_its_default_reads()
    {
        var outline = Outline("ARG REG=local\nARG BASE=${REG}-base\nARG OTHER=x\nFROM $BASE\n");

        Assert.Equal(["REG", "BASE"], outline.Args.Select(a => a.Name));
        Assert.Equal(("", ""), (outline.Name, outline.Description));
    }

    [Fact]
    public void Outline_follows_the_base_and_from_stages_and_lists_their_secrets_and_ssh()
    {
        var outline = Outline("""
            FROM scratch AS tools
            ARG TOOL=t
            RUN --mount=type=secret,id=npm,required=true true
            FROM scratch AS base
            RUN --mount=type=ssh true
            FROM base AS app
            COPY --from=tools /x /x
            RUN --mount=type=secret,target=/run/token --mount=type=ssh,id=git,required=true true
            FROM scratch AS unused
            ARG NOPE=1
            RUN --mount=type=secret,id=other true

            """, target: "app");

        Assert.Equal(["TOOL"], outline.Args.Select(a => a.Name));
        Assert.Equal([("npm", true, 3), ("token", false, 8)], outline.Secrets.Select(s => (s.Name, s.Required, s.Location.StartLine)));
        Assert.Equal([("default", false), ("git", true)], outline.Ssh.Select(s => (s.Name, s.Required)));
    }
}
