using System.Diagnostics;
using System.Text;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// Pins an ADD git source to a commit with <c>git ls-remote</c> (Debian's git), as BuildKit's git source does before it
/// computes a cache key: the commit is the content checksum, so a moved branch or tag misses the cache and an unchanged
/// one hits. Never prompts (GIT_TERMINAL_PROMPT=0, ssh in batch mode), and gives up after <see cref="Timeout"/>.
/// </summary>
public sealed class GitRefResolver
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The commit <paramref name="source"/>'s ref names now; throws <see cref="GitSourceException"/> naming the
    /// repository and ref when it cannot.</summary>
    public async Task<string> ResolveAsync(GitSource source, CancellationToken cancellationToken)
    {
        if (source.RefIsCommit) return source.Ref.ToLowerInvariant();
        var wanted = source.Ref.Length == 0 ? "HEAD" : source.Ref;
        var (exit, stdout, stderr) = await RunGitAsync(["ls-remote", "--", source.Remote, wanted], cancellationToken);
        if (exit != 0)
            throw new GitSourceException($"failed to fetch remote {source.Remote}: {FirstLines(stderr)}");
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t', 2);
            if (parts.Length == 2) refs[parts[1].Trim()] = parts[0].Trim();
        }
        // git's own precedence for a short name (rev-parse): the name itself, then tags, then branches; an annotated
        // tag stands for the commit it peels to.
        string[] candidates = wanted.StartsWith("refs/", StringComparison.Ordinal) || wanted == "HEAD"
            ? [wanted + "^{}", wanted]
            : ["refs/tags/" + wanted + "^{}", "refs/tags/" + wanted, "refs/heads/" + wanted];
        foreach (var name in candidates)
        {
            if (refs.TryGetValue(name, out var commit)) return commit;
        }
        throw new GitSourceException($"failed to fetch remote {source.Remote}: repository does not contain ref {wanted}");
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunGitAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        start.Environment["LC_ALL"] = "C";
        if (!start.Environment.ContainsKey("GIT_SSH_COMMAND"))
            start.Environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new GitSourceException("could not start git");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new GitSourceException("git is not installed on the coordinator (Debian package git; scripts/install-deps.sh)", e);
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
                throw new GitSourceException($"git {string.Join(' ', args.Skip(2))} did not answer in {Timeout.TotalSeconds:0} s");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static string FirstLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var builder = new StringBuilder();
        foreach (var line in lines.Take(3))
            builder.Append(builder.Length > 0 ? "; " : "").Append(line);
        return builder.Length > 0 ? builder.ToString() : "git exited with an error";
    }
}
