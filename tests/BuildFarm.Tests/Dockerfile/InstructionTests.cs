using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>Typed instruction records and stage grouping beyond the upstream tables.</summary>
public class InstructionTests
{
    private static Instruction Parse(string line) => InstructionParser.ParseInstruction(DockerfileParser.Parse(line).Ast.Children[0]);

    private static DockerfileException Fails(string line) => Assert.Throws<DockerfileException>(() => Parse(line));

    [Fact]
    public void Stages_group_instructions_after_meta_args()
    {
        var df = StageParser.ParseStages("""
            ARG BASE=alpine
            ARG TAG
            FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build
            RUN make
            ARG VERSION=1
            FROM scratch
            COPY --from=build /out /
            """);
        Assert.Equal(["BASE", "TAG"], df.MetaArgs.SelectMany(a => a.Args).Select(a => a.Key));
        Assert.Equal("alpine", df.MetaArgs[0].Args[0].Value);
        Assert.Null(df.MetaArgs[1].Args[0].Value);
        Assert.Equal(2, df.Stages.Count);
        var build = df.Stages[0];
        Assert.Equal((0, "build", "${BASE}:${TAG}", "$BUILDPLATFORM"), (build.Index, build.Name, build.BaseName, build.Platform));
        Assert.Equal(new SourceLocation("Dockerfile", 3, 3, 1), build.Location);
        Assert.Equal("FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS Build", build.SourceCode);
        Assert.IsType<RunInstruction>(build.Instructions[0]);
        Assert.IsType<ArgInstruction>(build.Instructions[1]);
        Assert.Equal((1, "", "scratch"), (df.Stages[1].Index, df.Stages[1].Name, df.Stages[1].BaseName));
        Assert.Equal("build", Assert.IsType<CopyInstruction>(df.Stages[1].Instructions[0]).From);
        Assert.Same(build, df.FindStage("BUILD"));
    }

    [Fact]
    public void Stages_carry_directives_and_warnings()
    {
        var df = StageParser.ParseStages("# check=error=true\nFROM a\nRUN a \\\n\n b\n");
        Assert.Equal(new Directive("check", "error=true", 1), Assert.Single(df.Directives));
        Assert.Contains("RUN a  b", Assert.Single(df.Warnings).Short);
    }

    [Fact]
    public void Instruction_before_first_from_is_an_error()
    {
        var e = Assert.Throws<DockerfileException>(() => StageParser.ParseStages("ARG A\nRUN x\nFROM a\n"));
        Assert.Equal(("no build stage in current context", 2), (e.Reason, e.Line));
    }

    [Theory]
    [InlineData("FROM a AS 1x", "invalid name for build stage: \"1x\", name can't start with a number or contain symbols")]
    [InlineData("FROM a b", "FROM requires either one or three arguments")]
    [InlineData("FROM a AS b c", "FROM requires either one or three arguments")]
    [InlineData("FROM --platform a", "missing a value on flag: --platform")]
    [InlineData("FROM --plattform=x a", "unknown flag: --plattform (did you mean platform?)")]
    public void Invalid_from_is_rejected(string line, string message) => Assert.Equal(message, Fails(line).Reason);

    [Fact]
    public void Run_parses_every_mount_type_and_option()
    {
        var run = Assert.IsType<RunInstruction>(Parse(
            "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1001,from=deps,source=/c " +
            "--mount=type=bind,src=.,dst=/src,rw " +
            "--mount=type=tmpfs,target=/tmp,size=64m " +
            "--mount=type=secret,id=token,env=TOKEN,required " +
            "--mount=type=ssh,target=/ssh,required=false,mode=600 " +
            "--network=none --security=insecure --device=vendor.com/gpu=all,required pip install ."));
        var m = run.Mounts.Select(s => s.Literal!).ToArray();
        Assert.Equal(new RunMount
        {
            Type = MountType.Cache, Target = "/root/.cache", CacheId = "pip", CacheSharing = MountSharing.Locked,
            Mode = 493, Uid = 1000, Gid = 1001, From = "deps", Source = "/c", ReadOnly = false,
        }, m[0]);
        Assert.Equal(new RunMount { Type = MountType.Bind, Source = ".", Target = "/src", ReadOnly = false }, m[1]);
        Assert.Equal(new RunMount { Type = MountType.Tmpfs, Target = "/tmp", SizeLimit = 64L * 1024 * 1024 }, m[2]);
        Assert.Equal(new RunMount { Type = MountType.Secret, CacheId = "token", Env = "TOKEN", Required = true, ReadOnly = true }, m[3]);
        Assert.Equal(new RunMount { Type = MountType.Ssh, Target = "/ssh", Mode = 384, ReadOnly = true }, m[4]);
        Assert.Equal((RunNetwork.None, RunSecurity.Insecure), (run.Network, run.Security));
        Assert.Equal(new RunDevice("vendor.com/gpu=all", true), Assert.Single(run.Devices));
        Assert.Equal(["device", "mount", "network", "security"], run.FlagsUsed);
        Assert.Equal(["pip install ."], run.CmdLine);
        Assert.True(run.PrependShell);
    }

    [Fact]
    public void Mount_fields_may_be_csv_quoted()
    {
        var run = Assert.IsType<RunInstruction>(Parse("""RUN --mount=type=bind,\"target=/a,b\",\"source=x\"\"y\" true"""));
        Assert.Equal(("/a,b", "x\"y"), (run.Mounts[0].Literal!.Target, run.Mounts[0].Literal!.Source));
    }

    [Fact]
    public void Run_defaults_are_sandboxed_default_network()
    {
        var run = Assert.IsType<RunInstruction>(Parse("RUN [\"sh\", \"-c\", \"true\"]"));
        Assert.Equal((RunNetwork.Default, RunSecurity.Sandbox, false), (run.Network, run.Security, run.PrependShell));
        Assert.Empty(run.Mounts);
        Assert.Empty(run.FlagsUsed);
    }

    [Fact]
    public void Mount_with_variables_is_typed_after_expansion()
    {
        var run = Assert.IsType<RunInstruction>(Parse("RUN --mount=type=cache,target=/c,uid=$UID true"));
        var spec = Assert.Single(run.Mounts);
        Assert.Null(spec.Literal);
        var mount = spec.Expand(v => v.Replace("$UID", "42"));
        Assert.Equal(42u, mount.Uid);
        var expanded = Assert.IsType<RunInstruction>(run.Expand(v => v.Replace("$UID", "7")));
        Assert.Equal(7u, expanded.Mounts[0].Literal!.Uid);
    }

    [Theory]
    [InlineData("RUN --mount=type=nfs,target=/x true", "unsupported mount type \"nfs\"")]
    [InlineData("RUN --mount=type=bind,target=/x,uid=1 true", "uid not allowed for \"bind\" type mounts")]
    [InlineData("RUN --mount=type=bind,target=/x,mode=9 true", "invalid value 9 for mode")]
    [InlineData("RUN --mount=type=bind,size=1 true", "unexpected key 'size' for mount type 'bind'")]
    [InlineData("RUN --mount=type=cache,sharing=all true", "unsupported sharing value \"all\"")]
    [InlineData("RUN --mount=type=bind,sharing=shared true", "invalid cache sharing set for bind mount")]
    [InlineData("RUN --mount=type=secret true", "invalid secret mount. one of source, target required")]
    [InlineData("RUN --mount=type=secret,id=a,source=b true", "both source and id can't be set")]
    [InlineData("RUN --mount=type=secret,from=x,id=a true", "secret mount should not have a from")]
    [InlineData("RUN --mount=type=bind,required true", "unexpected key 'required' for mount type 'bind'")]
    [InlineData("RUN --mount=type=bind,bogus true", "invalid field 'bogus' must be a key=value pair")]
    [InlineData("RUN --mount=type=bind,targte=/x true", "unexpected key 'targte' in 'targte=/x' (did you mean target?)")]
    [InlineData("RUN --mount=from=$STAGE,target=/x true", "'from' doesn't support variable expansion, define alias stage instead")]
    [InlineData("RUN --mount=type=bind,ro=maybe true", "invalid value for ro: maybe")]
    [InlineData("RUN --network=bridge true", "invalid network mode \"bridge\"")]
    [InlineData("RUN --security=privileged true", "security \"privileged\" is not valid")]
    [InlineData("RUN --mount true", "missing a value on flag: --mount")]
    [InlineData("RUN --mount= true", "failed to parse csv mounts: EOF")]
    // Quotes reach the CSV parser only when escaped: the flag scanner removes plain quotes.
    [InlineData("""RUN --mount=type=bind,target=/a\"b true""", """failed to parse csv mounts: parse error on line 1, column 20: bare " in non-quoted-field""")]
    [InlineData("""RUN --mount=\"type=bind true""", """failed to parse csv mounts: parse error on line 1, column 2: extraneous or missing " in quoted-field""")]
    public void Invalid_run_flags_are_rejected(string line, string message) => Assert.Equal(message, Fails(line).Reason);

    [Fact]
    public void Copy_parses_all_flags()
    {
        var copy = Assert.IsType<CopyInstruction>(Parse(
            "COPY --from=build --chown=1:2 --chmod=0644 --link --parents --exclude=*.md --exclude=.git a b/ /dst/"));
        Assert.Equal(("build", "1:2", "0644", true, true), (copy.From, copy.Chown, copy.Chmod, copy.Link, copy.Parents));
        Assert.Equal(["*.md", ".git"], copy.ExcludePatterns);
        Assert.Equal(["a", "b/"], copy.SourcePaths);
        Assert.Equal("/dst/", copy.DestPath);
        Assert.Empty(copy.SourceContents);
    }

    [Fact]
    public void Add_parses_all_flags()
    {
        var add = Assert.IsType<AddInstruction>(Parse(
            "ADD --chown=app --chmod=755 --link=false --keep-git-dir --checksum=sha256:abc --unpack=false --exclude=x https://e.com/a.tgz /opt/"));
        Assert.Equal(("app", "755", false, true, "sha256:abc", false), (add.Chown, add.Chmod, add.Link, add.KeepGitDir, add.Checksum, add.Unpack));
        Assert.Equal(["x"], add.ExcludePatterns);
        var plain = Assert.IsType<AddInstruction>(Parse("ADD a /b"));
        Assert.Null(plain.KeepGitDir);
        Assert.Null(plain.Unpack);
    }

    [Fact]
    public void Copy_json_form_keeps_spaces()
    {
        var copy = Assert.IsType<CopyInstruction>(Parse("COPY [\"a b\", \"/c d\"]"));
        Assert.Equal(["a b"], copy.SourcePaths);
        Assert.Equal(("/c d", true), (copy.DestPath, copy.IsJson));
    }

    [Fact]
    public void Copy_unknown_flag_and_add_from_are_rejected()
    {
        Assert.StartsWith("unknown flag: --from", Fails("ADD --from=a b c").Reason);
        Assert.Equal("duplicate flag specified: --from", Fails("COPY --from=a --from=b c d").Reason);
    }

    [Fact]
    public void Healthcheck_parses_all_options()
    {
        var h = Assert.IsType<HealthcheckInstruction>(Parse(
            "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD curl -f http://x/")).Health;
        Assert.Equal(
            (TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(500), 3),
            (h.Interval, h.Timeout, h.StartPeriod, h.StartInterval, h.Retries));
        Assert.Equal(["CMD-SHELL", "curl -f http://x/"], h.Test);
        Assert.Equal(["CMD", "a", "b"], Assert.IsType<HealthcheckInstruction>(Parse("HEALTHCHECK CMD [\"a\", \"b\"]")).Health.Test);
        Assert.Equal(["NONE"], Assert.IsType<HealthcheckInstruction>(Parse("HEALTHCHECK none")).Health.Test);
    }

    [Theory]
    [InlineData("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments")]
    [InlineData("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD")]
    [InlineData("HEALTHCHECK CONNECT TCP 7000", "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)")]
    [InlineData("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)")]
    [InlineData("HEALTHCHECK --retries=x CMD x", "strconv.ParseInt: parsing \"x\": invalid syntax")]
    [InlineData("HEALTHCHECK --timeout=5 CMD x", "time: invalid duration \"5\"")]
    [InlineData("HEALTHCHECK --timeout=999us CMD x", "Interval \"timeout\" cannot be less than 1ms")]
    public void Invalid_healthcheck_is_rejected(string line, string message) => Assert.Equal(message, Fails(line).Reason);

    [Fact]
    public void Onbuild_keeps_trigger_text_with_heredocs()
    {
        var onbuild = Assert.IsType<OnbuildInstruction>(Parse("onbuild  RUN <<EOF\necho hi\nEOF"));
        Assert.Equal("RUN <<EOF\necho hi\nEOF", onbuild.Expression);
        Assert.Equal("MAINTAINER isn't allowed as an ONBUILD trigger", Fails("ONBUILD maintainer x").Reason);
    }

    [Fact]
    public void Simple_instructions_are_typed()
    {
        Assert.Equal([new KeyValue("a", "1", false), new KeyValue("b", "\"x y\"", false)], Assert.IsType<EnvInstruction>(Parse("ENV a=1 b=\"x y\"")).Env);
        Assert.Equal([new KeyValue("PATH", "/a b", true)], Assert.IsType<EnvInstruction>(Parse("ENV PATH /a b")).Env);
        Assert.Equal([new KeyValue("l", "v", false)], Assert.IsType<LabelInstruction>(Parse("LABEL l=v")).Labels);
        Assert.Equal(["443/tcp", "80"], Assert.IsType<ExposeInstruction>(Parse("EXPOSE 80 443/tcp")).Ports);
        Assert.Equal(["/a", "/b"], Assert.IsType<VolumeInstruction>(Parse("VOLUME [\"/a\", \"/b\"]")).Volumes);
        Assert.Equal("app:app", Assert.IsType<UserInstruction>(Parse("USER app:app")).User);
        Assert.Equal("/srv", Assert.IsType<WorkdirInstruction>(Parse("WORKDIR /srv")).Path);
        Assert.Equal("SIGTERM", Assert.IsType<StopSignalInstruction>(Parse("STOPSIGNAL SIGTERM")).Signal);
        Assert.Equal("me", Assert.IsType<MaintainerInstruction>(Parse("MAINTAINER me")).Maintainer);
        Assert.Equal(["bash", "-c"], Assert.IsType<ShellInstruction>(Parse("SHELL [\"bash\", \"-c\"]")).Shell);
        Assert.Equal([new ArgDefinition("A", "1"), new ArgDefinition("B", null), new ArgDefinition("C", "")], Assert.IsType<ArgInstruction>(Parse("ARG A=1 B C=")).Args);
        var cmd = Assert.IsType<CmdInstruction>(Parse("CMD [\"a\"]")).Command;
        Assert.Equal(["a"], cmd.CmdLine);
        Assert.False(cmd.PrependShell);
        Assert.Empty(Assert.IsType<EntrypointInstruction>(Parse("ENTRYPOINT []")).Command.CmdLine);
    }

    [Theory]
    [InlineData("SHELL bash -c", "SHELL requires the arguments to be in JSON form")]
    [InlineData("SHELL []", "SHELL requires at least one argument")]
    [InlineData("VOLUME [\"\"]", "VOLUME specified can not be an empty string")]
    [InlineData("ARG =x", "ARG names can not be blank")]
    [InlineData("ENV a=1 b", "Syntax error - can't find = in \"b\". Must be of the form: name=value")]
    [InlineData("WORKDIR", "WORKDIR requires exactly one argument")]
    [InlineData("COPY --form=a b c", "unknown flag: --form (did you mean from?)")]
    [InlineData("RUNN x", "unknown instruction: RUNN (did you mean RUN?)")]
    [InlineData("entrypointt x", "unknown instruction: entrypointt (did you mean entrypoint?)")]
    [InlineData("ENV --x=1 a=b", "unknown flag: --x")]
    [InlineData("COPY <<EOF <<EOF2\nx\nEOF\ny\nEOF2", "COPY cannot accept a heredoc as a destination")]
    public void Invalid_simple_instructions_are_rejected(string line, string message) => Assert.Equal(message, Fails(line).Reason);

    [Fact]
    public void Instructions_keep_name_source_and_location()
    {
        var df = StageParser.ParseStages("FROM a\n# build it\n  run make \\\n   all\n");
        var run = df.Stages[0].Instructions[0];
        Assert.Equal(("run", "RUN", "run make    all"), (run.Name, run.Keyword, run.SourceCode));
        Assert.Equal(new SourceLocation("Dockerfile", 3, 4, 3), run.Location);
        Assert.Equal(["build it"], run.Comments);
    }

    [Fact]
    public void Expansion_replaces_expandable_words()
    {
        var lexer = new BuildFarm.Coordinator.Dockerfile.Shell.ShellLexer();
        var env = BuildFarm.Coordinator.Dockerfile.Shell.ShellEnvironment.FromList(["D=/data", "U=app"]);
        string Expand(string w) => lexer.ProcessWord(w, env);
        // Shell-form COPY splits on whitespace before expansion (quotes do not group words), as in BuildKit.
        var copy = Assert.IsType<CopyInstruction>(((IExpandableInstruction)Parse("COPY --chown=$U ${D}/a \"$D\"/b")).Expand(Expand));
        Assert.Equal(("app", "/data/a", "/data/b"), (copy.Chown, copy.SourcePaths[0], copy.DestPath));
        var env2 = Assert.IsType<EnvInstruction>(((IExpandableInstruction)Parse("ENV X=\"$D/x y\"")).Expand(Expand));
        Assert.Equal("/data/x y", env2.Env[0].Value);
    }
}
