using System.Diagnostics;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// ADD &lt;git URL&gt;: checks out exactly the commit the planner pinned (Debian's git). The commit is fetched by id
/// (git's protocol v2 serves any reachable commit); a server that refuses that gets the ref fetched instead, which must
/// still name the pinned commit, else the ref moved during the build and the step fails rather than build something
/// its key does not describe. Without --keep-git-dir the .git folder is removed, as BuildKit leaves none in the layer.
/// </summary>
public sealed class GitFetcher
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Checks <paramref name="source"/> out under <paramref name="directory"/> (an empty scratch folder);
    /// returns the folder whose contents the ADD copies (the subdirectory when one was asked).</summary>
    public async Task<string> CheckoutAsync(GitCheckoutSource source, string directory, bool keepGitDir, CancellationToken cancellationToken)
    {
        var tree = Path.Combine(directory, "tree");
        Directory.CreateDirectory(tree);
        await GitAsync(source, cancellationToken, "-c", "init.defaultBranch=main", "init", "-q", tree);
        // a full history with --keep-git-dir (the user wants a repository); one commit otherwise
        string[] depth = keepGitDir ? [] : ["--depth=1"];
        var (exit, _, stderr) = await RunAsync(tree, cancellationToken, ["fetch", "-q", "--no-tags", .. depth, "--", source.Remote, source.Commit]);
        if (exit != 0)
        {
            if (string.Equals(source.Ref, source.Commit, StringComparison.OrdinalIgnoreCase))
                throw new CopyException($"failed to fetch {source.Commit} from git remote {source.Remote}: {FirstLine(stderr)}");
            await GitAsync(source, cancellationToken, ["-C", tree, "fetch", "-q", "--no-tags", .. depth, "--", source.Remote,
                source.Ref.Length == 0 ? "HEAD" : source.Ref]);
            var (_, fetched, _) = await RunAsync(tree, cancellationToken, ["rev-parse", "FETCH_HEAD^{commit}"]);
            if (!string.Equals(fetched.Trim(), source.Commit, StringComparison.OrdinalIgnoreCase))
                throw new CopyException($"git ref {source.Ref} of {source.Remote} moved during the build: planned at {source.Commit}, now {fetched.Trim()}");
        }
        await GitAsync(source, cancellationToken, "-C", tree, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", source.Commit);
        if (File.Exists(Path.Combine(tree, ".gitmodules")))
            await GitAsync(source, cancellationToken, "-C", tree, "submodule", "update", "-q", "--init", "--recursive", "--depth=1");
        if (!keepGitDir)
            TreeRemover.Remove(Path.Combine(tree, ".git"));
        if (source.Subdir.Length == 0) return tree;
        var subdir = RootedPath.ResolveScoped(tree, "/" + source.Subdir);
        if (!Directory.Exists(subdir))
            throw new CopyException($"{source.Source}: the repository has no directory {source.Subdir} at {source.Commit}");
        return subdir;
    }

    private async Task GitAsync(GitCheckoutSource source, CancellationToken cancellationToken, params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(null, cancellationToken, args);
        if (exit != 0)
            throw new CopyException($"failed to check out {source.Source} at {source.Commit}: {FirstLine(stderr)}");
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string? workingDirectory, CancellationToken cancellationToken, string[] args)
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
        if (!start.Environment.ContainsKey("GIT_SSH_COMMAND"))
            start.Environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CopyException("could not start git");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CopyException("ADD of a git repository needs git on the worker (Debian package git)", e);
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
                throw new CopyException($"git {args.FirstOrDefault()} did not finish in {Timeout.TotalMinutes:0} minutes");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "git exited with an error";
}
