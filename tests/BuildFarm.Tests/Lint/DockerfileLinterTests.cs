using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Lint;

/// <summary>
/// BuildKit's Dockerfile checks. The dockerd 26.1 (BuildKit 0.13) that the conformance fixture runs predates these rules, so the
/// expected texts are BuildKit's own, from moby/buildkit frontend/dockerfile/linter/ruleset.go (names, links, message formats),
/// dockerfile2llb/validations.go and convert.go (where each rule fires) and solver/errdefs/source.go (the source excerpt).
/// </summary>
public sealed class DockerfileLinterTests
{
    public static TheoryData<string, string, string, int> OneViolationEach => new()
    {
        { "FROM scratch AS Build\n", "StageNameCasing", "Stage name 'Build' should be lowercase", 1 },
        { "FROM scratch as build\n", "FromAsCasing", "'as' and 'FROM' keywords' casing do not match", 1 },
        { "FROM scratch\nLABEL a=b \\\n\n  c=d\n", "NoEmptyContinuation", "Empty continuation line", 4 },
        { "FROM scratch\nlabel a=b\nLABEL c=d\n", "ConsistentInstructionCasing", "Command 'label' should match the case of the command majority (uppercase)", 2 },
        { "FROM scratch AS a\nFROM scratch AS a\n", "DuplicateStageName", "Duplicate stage name \"a\", stage names should be unique", 2 },
        { "FROM scratch AS context\n", "ReservedStageName", "Stage name should not use the same name as reserved stage \"context\"", 1 },
        { "FROM scratch\nCMD echo hi\n", "JSONArgsRecommended", "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals", 2 },
        { "FROM scratch\nMAINTAINER me\n", "MaintainerDeprecated", "Maintainer instruction is deprecated in favor of using label", 2 },
        { "ARG VERSION=1\nFROM busybox$VERSIN\n", "UndefinedArgInFrom", "FROM argument 'VERSIN' is not declared (did you mean VERSION?)", 2 },
        { "FROM scratch\nWORKDIR app\n", "WorkdirRelativePath", "Relative workdir \"app\" can have unexpected results if the base image changes", 2 },
        { "FROM scratch\nENV GREETING=hi\nENV B=$GREETIN\n", "UndefinedVar", "Usage of undefined variable '$GREETIN' (did you mean $GREETING?)", 3 },
        { "FROM scratch\nENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]\n", "MultipleInstructionsDisallowed", "Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used", 2 },
        { "FROM scratch\nLABEL maintainer me\n", "LegacyKeyValueFormat", "\"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format", 2 },
        { "FROM --platform=$TARGETPLATFORM scratch\n", "RedundantTargetPlatform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior", 1 },
        { "FROM scratch\nARG GITHUB_TOKEN\n", "SecretsUsedInArgOrEnv", "Do not use ARG or ENV instructions for sensitive data (ARG \"GITHUB_TOKEN\")", 2 },
        { "ARG TAG\nFROM busybox:${TAG}\n", "InvalidDefaultArgInFrom", "Default value for ARG busybox:${TAG} results in empty or invalid base image name", 2 },
        { "FROM --platform=linux/arm64 scratch AS build\n", "FromPlatformFlagConstDisallowed", "FROM --platform flag should not use constant value \"linux/arm64\"", 1 },
        { "FROM scratch\nEXPOSE 80/TCP\n", "ExposeProtoCasing", "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase", 2 },
        { "FROM scratch\nEXPOSE 8080:80\n", "ExposeInvalidFormat", "EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'", 2 },
    };

    [Theory]
    [MemberData(nameof(OneViolationEach))]
    public void Each_rule_fires_once_with_BuildKits_message_on_its_line(string dockerfile, string rule, string detail, int line)
    {
        var warnings = LintCheck.Run(dockerfile).Warnings;

        var warning = Assert.Single(warnings);
        Assert.Equal(rule, warning.RuleName);
        Assert.Equal(detail, warning.Detail);
        Assert.Equal(line, warning.StartLine);
        var known = Assert.Single(LintRules.All, r => r.Name == rule);
        Assert.Equal(known.Url, warning.Url);
        Assert.Equal(known.Description, warning.Description);
    }

    [Fact]
    public void Copy_of_a_file_the_dockerignore_excludes_is_reported()
    {
        var ignore = PatternMatcher.Create(["*.secret"]);

        var warnings = LintCheck.Run("FROM scratch\nCOPY app.secret ./x/../ /\nCOPY --from=other app.secret /\nCOPY ok.txt /\n", ignore: ignore,
            dispatched: new HashSet<int> { 0 }).Warnings;

        var warning = Assert.Single(warnings);
        Assert.Equal("CopyIgnoredFile", warning.RuleName);
        Assert.Equal("Attempting to Copy file \"app.secret\" that is excluded by .dockerignore", warning.Detail);
        Assert.Equal(2, warning.StartLine);
    }

    [Fact]
    public void A_dockerfile_with_every_violation_reports_every_stable_rule()
    {
        const string dockerfile = """
            ARG BASE=
            ARG VERSION=1
            FROM scratch as Builder
            from scratch AS dup
            FROM scratch AS dup
            FROM scratch AS context
            FROM --platform=linux/arm64 scratch AS plat
            FROM --platform=$TARGETPLATFORM scratch AS redundant
            FROM busybox:$VERSIN AS undeclared
            FROM $BASE AS invalid
            FROM scratch
            MAINTAINER someone
            ENV LEGACY value
            ENV API_TOKEN=abc
            WORKDIR relative
            ENV X=$NOPE
            EXPOSE 8080/TCP 127.0.0.1:80:80
            COPY secret.txt /
            LABEL a=b \

              c=d
            CMD echo one
            CMD ["two"]

            """;

        var result = LintCheck.Run(dockerfile, ignore: PatternMatcher.Create(["secret.txt"]));

        var stable = LintRules.All.Where(r => !r.Experimental).Select(r => r.Name).Order().ToList();
        Assert.Equal(stable, result.Warnings.Select(w => w.RuleName).Distinct().Order().ToList());
        var printed = LintCheck.Print(dockerfile, result.Warnings);
        Assert.StartsWith($"Check complete, {result.Warnings.Count} warnings have been found!\n", printed);
        foreach (var warning in result.Warnings)
            Assert.Contains($"\nWARNING: {warning.RuleName} - {warning.Url}\n{warning.Detail}\nDockerfile:{warning.StartLine}\n", printed);
    }

    [Fact]
    public void Check_output_is_BuildKits_rule_link_message_and_marked_source_lines()
    {
        const string dockerfile = "FROM busybox as base\nRUN true\n";

        var printed = LintCheck.Print(dockerfile, LintCheck.Run(dockerfile).Warnings);

        Assert.Equal("""
            Check complete, 1 warning has been found!

            WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
            'as' and 'FROM' keywords' casing do not match
            Dockerfile:1
            --------------------
               1 | >>> FROM busybox as base
               2 |     RUN true
               3 |     
            --------------------

            """.Replace("\r\n", "\n"), printed);
    }

    [Fact]
    public void A_clean_dockerfile_has_no_warnings_and_prints_BuildKits_all_clear()
    {
        const string dockerfile = """
            # syntax=docker/dockerfile:1
            ARG GO_VERSION=1.22
            FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
            ARG TARGETOS
            WORKDIR /src
            ENV CGO_ENABLED=0 GOOS=${TARGETOS}
            COPY . .
            RUN --mount=type=cache,target=/root/.cache go build -o /out/app .

            FROM scratch
            LABEL org.opencontainers.image.authors="me"
            COPY --from=build /out/app /app
            EXPOSE 8080/tcp
            HEALTHCHECK CMD ["/app", "health"]
            ENTRYPOINT ["/app"]

            """;

        var result = LintCheck.Run(dockerfile);

        Assert.Empty(result.Warnings);
        Assert.Equal("Check complete, no warnings found.\n", LintCheck.Print(dockerfile, result.Warnings));
    }

    [Fact]
    public void Check_directive_skips_the_named_rules_and_keeps_the_others()
    {
        var warnings = LintCheck.Run("# check=skip=FromAsCasing,JSONArgsRecommended\nFROM scratch as base\nCMD echo hi\nMAINTAINER me\n").Warnings;

        Assert.Equal(["MaintainerDeprecated"], warnings.Select(w => w.RuleName));
    }

    [Fact]
    public void Check_directive_skip_all_silences_every_rule()
    {
        Assert.Empty(LintCheck.Run("# check=skip=all\nFROM scratch as base\nMAINTAINER me\n").Warnings);
    }

    [Fact]
    public void Check_comment_above_one_instruction_skips_the_rule_there_only()
    {
        var warnings = LintCheck.Run("FROM scratch\n# check=skip=JSONArgsRecommended\nCMD echo one\nENTRYPOINT echo two\n").Warnings;

        var warning = Assert.Single(warnings);
        Assert.Equal(("JSONArgsRecommended", 4), (warning.RuleName, warning.StartLine));
    }

    [Fact]
    public void Error_true_turns_warnings_into_BuildKits_build_error()
    {
        var failing = LintCheck.Run("# check=error=true\nFROM scratch as base\nMAINTAINER me\n");
        var clean = LintCheck.Run("# check=error=true\nFROM scratch\n");

        Assert.Equal("lint violation found for rules: FromAsCasing, MaintainerDeprecated", failing.Error);
        Assert.Null(clean.Error);
        Assert.Null(LintCheck.Run("FROM scratch as base\n").Error);
    }

    [Theory]
    [InlineData("skip", "invalid check option \"skip\"")]
    [InlineData("ignore=all", "invalid check option \"ignore\"")]
    [InlineData("error=maybe", "failed to parse check option \"error=maybe\": strconv.ParseBool: parsing \"maybe\": invalid syntax")]
    public void Malformed_check_options_are_refused_with_BuildKits_words(string options, string message)
    {
        var e = Assert.Throws<FormatException>(() => LintOptions.Parse(options));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Variables_from_the_base_image_environment_and_declared_args_are_defined()
    {
        var plan = new PlanOptions
        {
            BaseImages = new Dictionary<string, BaseImageConfig> { ["busybox"] = new() { Env = ["PATH=/bin"] } },
        };

        var warnings = LintCheck.Run("FROM busybox\nARG V\nENV PATH=$PATH:/opt/bin X=$V\nFROM busybox AS next\nENV Y=$V\n", plan).Warnings;

        var warning = Assert.Single(warnings);
        Assert.Equal(("UndefinedVar", "Usage of undefined variable '$V'", 5), (warning.RuleName, warning.Detail, warning.StartLine));
    }

    [Fact]
    public void PATH_is_always_defined_as_BuildKit_sets_a_default_one_even_on_scratch()
    {
        Assert.Empty(LintCheck.Run("FROM scratch\nENV PATH=/opt/bin:$PATH\n").Warnings);
    }

    [Fact]
    public void A_stage_built_on_another_inherits_its_workdir_and_environment()
    {
        Assert.Empty(LintCheck.Run("FROM scratch AS base\nWORKDIR /app\nENV A=1\nFROM base\nWORKDIR sub\nENV B=$A\n").Warnings);
    }

    [Fact]
    public void A_build_checks_only_the_instructions_of_the_stages_it_dispatches()
    {
        const string dockerfile = "FROM scratch AS unused\nWORKDIR rel\nFROM scratch\nCMD [\"a\"]\n";

        Assert.Empty(LintCheck.Run(dockerfile, dispatched: new HashSet<int> { 1 }).Warnings);
        Assert.Single(LintCheck.Run(dockerfile).Warnings);
    }

    [Fact]
    public void Build_summary_is_buildx_short_form_with_lines()
    {
        var warnings = LintCheck.Run("FROM scratch as base\nMAINTAINER me\n").Warnings;
        using var output = new StringWriter { NewLine = "\n" };

        LintReportWriter.WriteBuildSummary(output, warnings);

        Assert.Equal("\n 2 warnings found (use docker --debug to expand):\n"
                     + " - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)\n"
                     + " - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)\n", output.ToString());
    }
}
