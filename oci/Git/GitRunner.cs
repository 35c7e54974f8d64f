using System.Diagnostics;

namespace BuildFarm.Oci.Git;

/// <summary>
/// Runs Debian's git for the build farm (the coordinator's ls-remote, the worker's fetch and checkout) the way
/// BuildKit's git source does: never prompts (GIT_TERMINAL_PROMPT=0, ssh in batch mode), reads no system or global git
/// configuration and no ssh configuration of this host, uses only the build's ssh agent (never this host's own
/// SSH_AUTH_SOCK), and gives up after <see cref="Timeout"/>.
/// </summary>
public sealed class GitRunner
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Over ssh: the build's agent and the host keys to trust; null: no agent at all.</summary>
    public GitSsh? Ssh { get; init; }

    /// <summary>Runs git with <paramref name="args"/>; throws <see cref="GitMissingException"/> when git is not installed
    /// and <see cref="TimeoutException"/> when it did not finish in time (its process tree is killed).</summary>
    public async Task<GitResult> RunAsync(IReadOnlyList<string> args, string? workingDirectory, CancellationToken cancellationToken)
    {
        string? knownHosts = null;
        try
        {
            if (Ssh is { KnownHosts.Length: > 0 } ssh)
            {
                knownHosts = Path.Combine(Directory.CreateTempSubdirectory("buildfarm-git-").FullName, "known_hosts");
                await File.WriteAllTextAsync(knownHosts, ssh.KnownHosts.EndsWith('\n') ? ssh.KnownHosts : ssh.KnownHosts + "\n", cancellationToken);
            }
            return await RunProcessAsync(args, workingDirectory, knownHosts, cancellationToken);
        }
        finally
        {
            if (knownHosts is not null) Directory.Delete(Path.GetDirectoryName(knownHosts)!, recursive: true);
        }
    }

    private async Task<GitResult> RunProcessAsync(IReadOnlyList<string> args, string? workingDirectory, string? knownHostsFile,
        CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        start.Environment["LC_ALL"] = "C";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_SSH_COMMAND"] = SshCommand(knownHostsFile);
        start.Environment.Remove("GIT_SSH");
        start.Environment.Remove("SSH_ASKPASS");
        // this host's own agent (an operator's) must never sign for a build
        if (Ssh is { } ssh) start.Environment["SSH_AUTH_SOCK"] = ssh.AgentSocket;
        else start.Environment.Remove("SSH_AUTH_SOCK");
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new GitMissingException("could not start git", new InvalidOperationException());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new GitMissingException("git is not installed (Debian package git)", e);
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"git {args.FirstOrDefault(a => !a.StartsWith('-'))} did not finish in {Timeout.TotalSeconds:0} s");
            }
            return new GitResult(process.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>BuildKit's ssh for git: no ssh_config of this host; the given host keys (an unknown or changed key fails),
    /// or none checked when there are none (nor written to this host's known_hosts). Batch mode: never a prompt.</summary>
    public static string SshCommand(string? knownHostsFile) =>
        "ssh -F /dev/null -o BatchMode=yes " + (knownHostsFile is null
            ? "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            : $"-o StrictHostKeyChecking=yes -o UserKnownHostsFile='{knownHostsFile.Replace("'", "'\\''")}'");
}
