using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// <c>build --check</c> / <c>--call=check</c> and the warnings after a build, through the real CLI (embedded and --server).
/// The private dockerd's BuildKit 0.13 predates these checks, so the texts compared are BuildKit's own (ruleset.go; buildx's
/// "Check complete" lines and warning summary).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DockerfileCheckTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private const string Violations = """
        FROM scratch as base
        ADD rootfs.tar /
        MAINTAINER someone
        COPY secret.txt /
        RUN echo step-ran-$((40+2))
        CMD echo hi

        """;

    private string ViolationsContext(string name = "violations", string prefix = "") =>
        _scratch.Context(name, prefix + Violations, ("secret.txt", "s"), (".dockerignore", "secret.txt\n"));

    [Fact]
    public async Task Check_prints_each_violation_with_BuildKits_text_and_fails_without_building()
    {
        var result = await _scratch.Cli.BuildAsync("--check", ViolationsContext());

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("Check complete, 4 warnings have been found!\n", result.Stdout);
        Assert.Contains("""

            WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
            'as' and 'FROM' keywords' casing do not match
            Dockerfile:1
            --------------------
               1 | >>> FROM scratch as base
               2 |     ADD rootfs.tar /
               3 |     MAINTAINER someone
            --------------------
            """, result.Stdout);
        Assert.Contains("WARNING: MaintainerDeprecated - https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/\nMaintainer instruction is deprecated in favor of using label\nDockerfile:3\n", result.Stdout);
        Assert.Contains("WARNING: CopyIgnoredFile - https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/\nAttempting to Copy file \"secret.txt\" that is excluded by .dockerignore\nDockerfile:4\n", result.Stdout);
        Assert.Contains("WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\nJSON arguments recommended for CMD to prevent unintended behavior related to OS signals\nDockerfile:6\n", result.Stdout);
        Assert.DoesNotContain("step-ran-42", result.Stderr + result.Stdout);
    }

    [Fact]
    public async Task Check_of_a_clean_dockerfile_says_so_and_succeeds()
    {
        var context = _scratch.Context("clean", "FROM scratch\nADD rootfs.tar /\nCMD [\"/bin/sh\"]\n");

        var result = await _scratch.Cli.BuildAsync("--call=check", context);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Check complete, no warnings found.\n", result.Stdout);
    }

    [Fact]
    public async Task Build_runs_and_then_lists_the_warnings_as_buildx()
    {
        // (an ignored COPY source would fail the build: that one is for --check)
        var context = _scratch.Context("builds", Violations.Replace("COPY secret.txt /", "COPY kept.txt /"), ("kept.txt", "k"));

        var result = await _scratch.Cli.BuildAsync(context);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("step-ran-42", result.Stderr);
        Assert.Contains("""
             3 warnings found (use docker --debug to expand):
             - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)
             - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 3)
             - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 6)
            """, result.Stderr);
    }

    [Fact]
    public async Task Check_directive_skips_rules_and_error_true_fails_the_build_before_any_step()
    {
        var context = ViolationsContext("strict", "# check=skip=MaintainerDeprecated,CopyIgnoredFile,JSONArgsRecommended;error=true\n");

        var result = await _scratch.Cli.BuildAsync(context);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(" 1 warning found (use docker --debug to expand):\n - FromAsCasing:", result.Stderr);
        Assert.DoesNotContain("MaintainerDeprecated", result.Stderr);
        Assert.Contains("ERROR: failed to solve: lint violation found for rules: FromAsCasing", result.Stderr);
        Assert.DoesNotContain("step-ran-42", result.Stderr);
    }

    [Fact]
    public async Task Build_arg_BUILDKIT_DOCKERFILE_CHECK_replaces_the_directive()
    {
        var context = ViolationsContext("by-arg", "# check=error=true\n");

        var result = await _scratch.Cli.BuildAsync("--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", context);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Check complete, no warnings found.\n", result.Stdout);
    }

    [Fact]
    public async Task Malformed_check_directive_is_a_clear_error_naming_the_option()
    {
        var context = _scratch.Context("malformed", "# check=skip\nFROM scratch\n");

        var result = await _scratch.Cli.BuildAsync("--check", context);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("failed to parse check options: invalid check option \"skip\"", result.Stderr);
    }

    [Fact]
    public async Task Unknown_call_is_a_usage_error()
    {
        var result = await _scratch.Cli.BuildAsync("--call=subrequests.describe", _scratch.Context("call", "FROM scratch\n"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--call subrequests.describe: unsupported (supported: build, check, outline, targets)", result.Stderr);
    }

    [Fact]
    public async Task Check_through_a_server_prints_the_same_findings()
    {
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            var context = ViolationsContext();
            var local = await _scratch.Cli.BuildAsync("--check", context);

            var served = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--check", context);

            Assert.True(served.ExitCode == 1, served.ToString());
            Assert.Equal(local.Stdout, served.Stdout);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
            await stderr;
        }
    }
}
