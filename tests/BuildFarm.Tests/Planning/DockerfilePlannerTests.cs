using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class DockerfilePlannerTests
{
    private static BuildPlan Plan(string dockerfile, IReadOnlyDictionary<string, string>? buildArgs = null, string? target = null) =>
        DockerfilePlanner.Plan(dockerfile, new PlanOptions { BuildArgs = buildArgs ?? new Dictionary<string, string>(), Target = target });

    private static PlannedStep Step(BuildPlan plan, string sourceText) => plan.Steps.Single(s => s.SourceText == sourceText);

    private static string Env(PlannedStep step, string key) => ImageEnv.Get(step.Config.Env, key) ?? "(unset)";

    [Fact]
    public void Changing_a_build_arg_changes_the_run_inputs()
    {
        const string dockerfile = "FROM scratch\nARG VERSION=1\nRUN echo $VERSION\n";
        var a = Step(Plan(dockerfile), "RUN echo $VERSION");
        var b = Step(Plan(dockerfile, new Dictionary<string, string> { ["VERSION"] = "2" }), "RUN echo $VERSION");

        Assert.Equal("1", a.BuildArgs["VERSION"]);
        Assert.Equal("2", b.BuildArgs["VERSION"]);
    }

    [Fact]
    public void An_undeclared_proxy_arg_reaches_run_but_not_its_key_inputs()
    {
        var plan = Plan("FROM scratch\nRUN apk add curl\n", new Dictionary<string, string> { ["http_proxy"] = "http://proxy:3128" });
        var run = Step(plan, "RUN apk add curl");

        Assert.DoesNotContain("http_proxy", run.BuildArgs.Keys);
        Assert.Contains("http_proxy=http://proxy:3128", run.RunEnvironment!);
        Assert.Contains("HTTP_PROXY=http://proxy:3128", run.RunEnvironment!);
    }

    [Fact]
    public void A_declared_proxy_arg_is_part_of_the_key_inputs()
    {
        var plan = Plan("FROM scratch\nARG http_proxy\nRUN apk add curl\n", new Dictionary<string, string> { ["http_proxy"] = "http://proxy:3128" });
        Assert.Equal("http://proxy:3128", Step(plan, "RUN apk add curl").BuildArgs["http_proxy"]);
    }

    [Fact]
    public void Undeclared_build_args_are_invisible_to_run()
    {
        var run = Step(Plan("FROM scratch\nRUN make\n", new Dictionary<string, string> { ["UNUSED"] = "x" }), "RUN make");
        Assert.Empty(run.BuildArgs);
        Assert.DoesNotContain(run.RunEnvironment!, e => e.StartsWith("UNUSED=", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_mount_contributes_its_id_and_target_only()
    {
        var plan = Plan("FROM scratch\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true npm ci\n");
        var mount = Assert.Single(Step(plan, "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true npm ci").Mounts);

        Assert.Equal(new Dictionary<string, string> { ["type"] = "secret", ["id"] = "npmrc", ["target"] = "/root/.npmrc", ["required"] = "true" }.OrderBy(p => p.Key), mount.OrderBy(p => p.Key));
    }

    [Theory]
    [InlineData("type=secret,id=npmrc,target=/root/.npmrc", "npmrc", "/root/.npmrc")]
    [InlineData("type=secret,src=token", "token", "/run/secrets/token")]
    [InlineData("type=secret,target=/root/.netrc", ".netrc", "/root/.netrc")]
    public async Task A_secret_mount_is_identified_by_id_and_target_only(string spec, string id, string target)
    {
        var plan = Plan($"FROM scratch\nRUN --mount={spec},env=SECRET ./deploy\n");
        var keys = await plan.ComputeKeysAsync(new FakeResolver());

        var mount = Assert.Single(keys.Inputs[plan.FinalStep.Id].Mounts);
        var expected = new Dictionary<string, string> { ["type"] = "secret", ["id"] = id, ["target"] = target, ["env"] = "SECRET" };
        Assert.Equal(expected.OrderBy(p => p.Key), mount.OrderBy(p => p.Key));
        Assert.DoesNotContain("source", mount.Keys);
    }

    [Fact]
    public void A_global_arg_is_visible_in_a_stage_only_when_redeclared()
    {
        var plan = Plan("ARG V=1\nFROM scratch\nENV A=$V\nARG V\nENV B=$V\n");
        Assert.Equal("", Env(Step(plan, "ENV A=$V"), "A"));
        Assert.Equal("1", Env(Step(plan, "ENV B=$V"), "B"));
    }

    [Fact]
    public void Arg_declared_after_env_of_the_same_name_wins_for_expansion_and_run_while_config_keeps_the_env()
    {
        var plan = Plan("FROM scratch\nENV MODE=env\nARG MODE=arg\nLABEL mode=$MODE\nRUN echo $MODE\n");
        Assert.Equal("arg", Step(plan, "LABEL mode=$MODE").Config.Labels["mode"]);
        Assert.Equal("arg", Step(plan, "RUN echo $MODE").BuildArgs["MODE"]);
        Assert.Contains("MODE=env", plan.FinalStep.Config.Env);
    }

    [Fact]
    public void Env_declared_after_an_arg_of_the_same_name_wins_again()
    {
        var plan = Plan("FROM scratch\nARG MODE=arg\nENV MODE=env\nLABEL mode=$MODE\n");
        Assert.Equal("env", Step(plan, "LABEL mode=$MODE").Config.Labels["mode"]);
    }

    [Fact]
    public void Base_names_expand_with_global_args_and_build_args_override_them()
    {
        const string dockerfile = "ARG IMAGE=alpine:3.20\nFROM $IMAGE\n";
        Assert.Equal("alpine:3.20", Plan(dockerfile).Steps[0].BaseImage);
        Assert.Equal("debian:12", Plan(dockerfile, new Dictionary<string, string> { ["IMAGE"] = "debian:12" }).Steps[0].BaseImage);
    }

    [Fact]
    public void Platform_args_are_predefined_for_linux_amd64()
    {
        var plan = Plan("FROM --platform=$BUILDPLATFORM scratch AS build\nARG TARGETARCH\nARG TARGETPLATFORM\nRUN echo $TARGETARCH\n");
        var run = Step(plan, "RUN echo $TARGETARCH");
        Assert.Equal("amd64", run.BuildArgs["TARGETARCH"]);
        Assert.Equal("linux/amd64", run.BuildArgs["TARGETPLATFORM"]);
        Assert.Equal("linux/amd64", run.Platform);
    }

    [Fact]
    public void Stages_the_target_does_not_need_are_pruned()
    {
        var plan = Plan("FROM scratch AS unused\nRUN a\nFROM scratch AS lib\nRUN b\nFROM scratch AS app\nCOPY --from=lib /x /x\n");

        Assert.True(plan.Stages[0].Pruned);
        Assert.Empty(plan.Stages[0].StepIds);
        Assert.False(plan.Stages[1].Pruned);
        Assert.DoesNotContain(plan.Steps, s => s.StageName == "unused");
    }

    [Fact]
    public void Independent_stages_run_at_the_same_level()
    {
        var plan = Plan("FROM scratch AS a\nRUN a\nFROM scratch AS b\nRUN b\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n");

        Assert.Equal(["s0.0", "s1.0", "s2.0"], plan.Levels[0].Select(s => s.Id));
        Assert.Equal(["s0.1", "s1.1"], plan.Levels[1].Select(s => s.Id));
        Assert.Equal(["s2.1"], plan.Levels[2].Select(s => s.Id));
        var copyB = Step(plan, "COPY --from=b /b /b");
        Assert.Equal("s2.1", copyB.ParentId);
        Assert.Equal(["s1.1"], copyB.DependsOn);
        Assert.Equal(3, plan.LevelOf(copyB.Id));
    }

    [Fact]
    public void Copy_from_resolves_a_stage_name_an_index_or_an_image()
    {
        var plan = Plan("FROM scratch AS build\nRUN make\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --from=alpine:3 /c /c\n");

        Assert.Equal(new StepSource(StepSourceKind.Stage, "build", 0, "s0.1"), Step(plan, "COPY --from=build /a /a").Sources.Single());
        Assert.Equal(new StepSource(StepSourceKind.Stage, "build", 0, "s0.1"), Step(plan, "COPY --from=0 /b /b").Sources.Single());
        Assert.Equal(new StepSource(StepSourceKind.Image, "alpine:3"), Step(plan, "COPY --from=alpine:3 /c /c").Sources.Single());
        Assert.Equal(["alpine:3"], plan.ExternalImages);
    }

    [Fact]
    public void Run_mount_from_a_stage_is_a_dependency()
    {
        var plan = Plan("FROM scratch AS deps\nRUN fetch\nFROM scratch\nRUN --mount=type=bind,from=deps,target=/deps build\n");
        var run = Step(plan, "RUN --mount=type=bind,from=deps,target=/deps build");
        Assert.Equal(["s0.1"], run.DependsOn);
        Assert.Empty(run.ContextSelections);
    }

    [Fact]
    public void Onbuild_triggers_of_a_base_stage_run_in_the_stage_built_on_it()
    {
        var plan = Plan("FROM scratch AS base\nONBUILD ENV TRIGGERED=yes\nFROM base\nRUN true\n");

        Assert.Equal(["ENV TRIGGERED=yes"], plan.Stages[0].FinalConfig!.OnBuild);
        var trigger = plan.Steps.Single(s => s.StageIndex == 1 && s.Instruction.StartsWith("ENV", StringComparison.Ordinal));
        Assert.Equal(3, trigger.Location.StartLine); // reported at the FROM that fires it
        Assert.Equal("yes", Env(plan.FinalStep, "TRIGGERED"));
        Assert.Empty(plan.Stages[1].FinalConfig!.OnBuild);
    }

    [Fact]
    public void Workdir_is_resolved_against_the_previous_workdir()
    {
        var plan = Plan("FROM scratch\nWORKDIR /app\nWORKDIR src\nENV D=sub\nWORKDIR $D\n");
        Assert.Equal("/app/src/sub", plan.FinalStep.Config.WorkingDir);
    }

    [Fact]
    public void Shell_form_runs_through_the_stage_shell()
    {
        var plan = Plan("FROM scratch\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN make all\nRUN [\"/bin/true\"]\n");
        Assert.Equal(["/bin/bash", "-eo", "pipefail", "-c", "make all"], Step(plan, "RUN make all").RunArgs);
        Assert.Equal(["/bin/true"], Step(plan, "RUN [\"/bin/true\"]").RunArgs);
    }

    [Fact]
    public void Entrypoint_resets_an_inherited_cmd_but_not_one_from_the_same_stage()
    {
        var plan = Plan("FROM scratch AS base\nCMD [\"serve\"]\nFROM base AS a\nENTRYPOINT [\"app\"]\nFROM base AS b\nCMD [\"x\"]\nENTRYPOINT [\"app\"]\n", target: "a");
        Assert.Null(plan.FinalStep.Config.Cmd);
        var b = Plan("FROM scratch AS base\nCMD [\"serve\"]\nFROM base AS a\nENTRYPOINT [\"app\"]\nFROM base AS b\nCMD [\"x\"]\nENTRYPOINT [\"app\"]\n", target: "b");
        Assert.Equal(["x"], b.FinalStep.Config.Cmd);
    }

    [Fact]
    public void Expose_expands_variables_and_ranges()
    {
        var plan = Plan("FROM scratch\nENV P=8080\nEXPOSE $P 9000-9001/udp\n");
        Assert.Equal(["8080/tcp", "9000/udp", "9001/udp"], plan.FinalStep.Config.ExposedPorts);
    }

    [Fact]
    public void Errors_name_the_file_line_and_column()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfilePlanner.Plan("FROM scratch\nENV A=${B:?required}\n", new PlanOptions(), "app.Dockerfile"));
        Assert.StartsWith("app.Dockerfile:2:", e.Message);
        Assert.Contains("required", e.Message);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void An_unknown_target_is_an_error_that_lists_the_stages()
    {
        var e = Assert.Throws<DockerfileException>(() => Plan("FROM scratch AS build\nFROM scratch AS final\n", target: "test"));
        Assert.Contains("target stage \"test\" could not be found", e.Message);
        Assert.Contains("build, final", e.Message);
    }

    [Fact]
    public void A_stage_index_out_of_range_is_an_error()
    {
        var e = Assert.Throws<DockerfileException>(() => Plan("FROM scratch\nCOPY --from=3 /a /a\n"));
        Assert.Equal(2, e.Line);
        Assert.Contains("invalid stage index 3", e.Message);
    }

    [Fact]
    public void Step_ids_and_instructions_are_stable_across_plannings()
    {
        const string dockerfile = "FROM alpine:3 AS build\nWORKDIR /src\nCOPY . .\nRUN make\nFROM scratch\nCOPY --from=build /src/app /app\nCMD [\"/app\"]\n";
        var a = Plan(dockerfile);
        var b = Plan(dockerfile);
        Assert.Equal(a.Steps.Select(s => (s.Id, s.Instruction, s.Location.StartLine)), b.Steps.Select(s => (s.Id, s.Instruction, s.Location.StartLine)));
        Assert.Equal("RUN [\"/bin/sh\",\"-c\",\"make\"]", Step(a, "RUN make").Instruction);
        Assert.Equal("COPY [\".\",\".\"]", Step(a, "COPY . .").Instruction);
    }

    [Fact]
    public void Copy_from_a_stage_defined_later_is_refused_with_buildkits_message()
    {
        // BuildKit (dockerd 26.1, checked with the conformance peer) refuses it when it builds the stage that names it
        var error = Assert.Throws<DockerfileException>(() =>
            Plan("FROM scratch AS app\nCOPY --from=tools /bin/tool /tool\nFROM scratch AS tools\nRUN build-tool\n", target: "app"));

        Assert.Equal("cannot copy from stage \"tools\", it needs to be defined before current stage \"app\"", error.Reason);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Copy_from_is_taken_as_written_and_a_variable_there_is_no_image_name()
    {
        var error = Assert.Throws<DockerfileException>(() =>
            Plan("ARG SRC=a\nFROM scratch AS a\nFROM scratch\nCOPY --from=${SRC} /f /g\n"));

        Assert.Equal("failed to parse stage name \"${SRC}\": invalid reference format: repository name (library/${SRC}) must be lowercase", error.Reason);
    }

    [Fact]
    public void A_known_base_image_config_feeds_expansion_and_its_onbuild_triggers()
    {
        var options = new PlanOptions
        {
            BaseImages = new Dictionary<string, BaseImageConfig>
            {
                ["node:22"] = new() { Env = ["PATH=/usr/local/bin:/usr/bin", "NODE_VERSION=22.1"], WorkingDir = "/srv", OnBuild = ["COPY package.json ."] },
            },
        };
        var plan = DockerfilePlanner.Plan("FROM node:22\nENV V=$NODE_VERSION\nWORKDIR app\n", options);

        var trigger = plan.Steps.Single(s => s.Kind == StepKind.Copy);
        Assert.Equal(1, trigger.Location.StartLine);
        Assert.Equal(["package.json"], trigger.ContextSelections.Single().Sources);
        Assert.Equal("22.1", ImageEnv.Get(plan.FinalStep.Config.Env, "V"));
        Assert.Equal("/srv/app", plan.FinalStep.Config.WorkingDir);
    }

    [Fact]
    public async Task A_heredoc_copy_key_covers_its_expanded_body()
    {
        const string dockerfile = "FROM scratch\nARG NAME=world\nCOPY <<EOF /hello.txt\nhello $NAME\nEOF\n";
        var plan = Plan(dockerfile);
        var same = await Plan(dockerfile).ComputeKeysAsync(new FakeResolver());
        var other = await Plan(dockerfile.Replace("hello", "bye", StringComparison.Ordinal)).ComputeKeysAsync(new FakeResolver());
        var keys = await plan.ComputeKeysAsync(new FakeResolver());

        var copy = (CopyInstruction)plan.FinalStep.Expanded!;
        Assert.Equal("hello world\n", Assert.Single(copy.SourceContents).Data);
        Assert.Contains("hello world", keys.Inputs[plan.FinalStep.Id].Instruction);
        Assert.Equal(keys.KeyOf(plan.FinalStep.Id), same.KeyOf(plan.FinalStep.Id));
        Assert.NotEqual(keys.KeyOf(plan.FinalStep.Id), other.KeyOf(plan.FinalStep.Id));
    }

    [Fact]
    public void A_workdir_is_a_step_of_its_own_except_the_root_which_only_changes_the_config()
    {
        var plan = Plan("FROM scratch\nUSER app\nWORKDIR /srv\nWORKDIR rel\nWORKDIR /\n");

        Assert.Equal(StepKind.Workdir, Step(plan, "WORKDIR /srv").Kind);
        var relative = Step(plan, "WORKDIR rel");
        Assert.Equal(StepKind.Workdir, relative.Kind);
        Assert.Equal("/srv/rel", ((WorkdirInstruction)relative.Expanded!).Path);
        Assert.Equal("app", relative.Config.User);
        Assert.Equal(StepKind.Config, Step(plan, "WORKDIR /").Kind);
    }

    [Fact]
    public void A_heredoc_whose_delimiter_is_a_path_is_refused_naming_its_line()
    {
        var e = Assert.Throws<DockerfileException>(() => Plan("FROM scratch\nCOPY <<a/b /x/\nbody\na/b\n"));
        Assert.Equal(2, e.Line);
        Assert.Contains("<<a/b", e.Message);
    }

    [Fact]
    public void From_platform_sets_the_platform_of_the_stage_steps()
    {
        var plan = Plan("FROM --platform=linux/arm64 alpine:3 AS a\nRUN uname -m\n");
        Assert.All(plan.Steps, s => Assert.Equal("linux/arm64", s.Platform));
    }

    [Fact]
    public void Args_end_with_their_stage_but_env_carries_into_stages_built_on_it()
    {
        var plan = Plan("FROM scratch AS base\nARG A=1\nENV E=2\nFROM base\nLABEL a=$A e=$E\n");
        var label = plan.FinalStep.Config.Labels;
        Assert.Equal("", label["a"]);
        Assert.Equal("2", label["e"]);
    }

    [Fact]
    public void A_mount_that_uses_a_stage_arg_plans_with_the_stage_value()
    {
        var plan = Plan("FROM scratch AS deps\nRUN fetch\nFROM scratch\nARG CACHE_DIR=/root/.cache\nRUN --mount=type=cache,target=$CACHE_DIR --mount=type=bind,from=deps,target=/deps build\n");
        var run = plan.Steps.Single(s => s.Kind == StepKind.Run && s.StageIndex == 1);
        Assert.Equal("/root/.cache", run.Mounts[0]["target"]);
        Assert.Equal(["s0.1"], run.DependsOn);
    }
}
