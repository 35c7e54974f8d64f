using BuildFarm.Oci.Git;

namespace BuildFarm.Tests.Oci;

/// <summary>The environment <see cref="GitRunner"/> gives git (and so git's ssh), read back through a git alias that
/// prints it.</summary>
public sealed class GitRunnerTests
{
    private static async Task<string> GitEnvironmentAsync(GitRunner git)
    {
        var result = await git.RunAsync(["-c", "alias.printenv=!env", "printenv"], null, CancellationToken.None);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return result.Stdout;
    }

    [Fact]
    public async Task Git_over_ssh_uses_the_builds_agent_and_trusts_only_the_scanned_keys()
    {
        var env = await GitEnvironmentAsync(new GitRunner { Ssh = new GitSsh("/run/build-agent.sock", "[h]:2222 ssh-ed25519 AAAAC3Nza") });

        Assert.Contains("SSH_AUTH_SOCK=/run/build-agent.sock\n", env);
        var ssh = env.Split('\n').Single(l => l.StartsWith("GIT_SSH_COMMAND=", StringComparison.Ordinal));
        Assert.Contains("-F /dev/null", ssh);
        Assert.Contains("-o StrictHostKeyChecking=yes -o UserKnownHostsFile='", ssh);
    }

    [Fact]
    public async Task Git_without_scanned_keys_checks_none_and_writes_no_known_hosts()
    {
        var env = await GitEnvironmentAsync(new GitRunner { Ssh = new GitSsh("/run/build-agent.sock", "") });

        Assert.Contains("GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n", env);
    }

    [Fact]
    public async Task Git_without_an_agent_gets_none()
    {
        var env = await GitEnvironmentAsync(new GitRunner());

        Assert.DoesNotContain("SSH_AUTH_SOCK=", env);
        Assert.Contains("GIT_CONFIG_GLOBAL=/dev/null\n", env);
    }
}
