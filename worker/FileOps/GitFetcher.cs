using BuildFarm.Oci.Git;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// ADD &lt;git URL&gt;: checks out exactly the commit the planner pinned (Debian's git, through <see cref="GitRunner"/>).
/// The commit is fetched by id (git's protocol v2 serves any reachable commit); a server that refuses that gets the ref
/// fetched instead, which must still name the pinned commit, else the ref moved during the build and the step fails
/// rather than build something its key does not describe. Without --keep-git-dir the .git folder is removed, as BuildKit
/// leaves none in the layer. Over ssh, git authenticates with the build's agent and trusts the host keys the planner saw.
/// </summary>
public sealed class GitFetcher
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Checks <paramref name="source"/> out under <paramref name="directory"/> (an empty scratch folder);
    /// returns the folder whose contents the ADD copies (the subdirectory when one was asked).</summary>
    public Task<string> CheckoutAsync(GitCheckoutSource source, string directory, bool keepGitDir, CancellationToken cancellationToken) =>
        CheckoutAsync(source, directory, keepGitDir, null, cancellationToken);

    /// <param name="sshAgent">The build's agent socket on this host, for a remote over ssh (null: no agent).</param>
    public async Task<string> CheckoutAsync(GitCheckoutSource source, string directory, bool keepGitDir, string? sshAgent,
        CancellationToken cancellationToken)
    {
        var git = new GitRunner { Timeout = Timeout, Ssh = sshAgent is null ? null : new GitSsh(sshAgent, source.KnownHosts) };
        var tree = Path.Combine(directory, "tree");
        Directory.CreateDirectory(tree);
        await GitAsync(git, source, cancellationToken, "-c", "init.defaultBranch=main", "init", "-q", tree);
        // a full history with --keep-git-dir (the user wants a repository); one commit otherwise
        string[] depth = keepGitDir ? [] : ["--depth=1"];
        var fetch = await RunAsync(git, tree, cancellationToken, ["fetch", "-q", "--no-tags", .. depth, "--", source.Remote, source.Commit]);
        if (fetch.ExitCode != 0)
        {
            if (string.Equals(source.Ref, source.Commit, StringComparison.OrdinalIgnoreCase))
                throw new CopyException($"failed to fetch {source.Commit} from git remote {source.Remote}: {fetch.Reason()}");
            await GitAsync(git, source, cancellationToken, ["-C", tree, "fetch", "-q", "--no-tags", .. depth, "--", source.Remote,
                source.Ref.Length == 0 ? "HEAD" : source.Ref]);
            var fetched = (await RunAsync(git, tree, cancellationToken, ["rev-parse", "FETCH_HEAD^{commit}"])).Stdout.Trim();
            if (!string.Equals(fetched, source.Commit, StringComparison.OrdinalIgnoreCase))
                throw new CopyException($"git ref {source.Ref} of {source.Remote} moved during the build: planned at {source.Commit}, now {fetched}");
        }
        await GitAsync(git, source, cancellationToken, "-C", tree, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", source.Commit);
        if (File.Exists(Path.Combine(tree, ".gitmodules")))
            await GitAsync(git, source, cancellationToken, "-C", tree, "submodule", "update", "-q", "--init", "--recursive", "--depth=1");
        if (!keepGitDir)
            TreeRemover.Remove(Path.Combine(tree, ".git"));
        if (source.Subdir.Length == 0) return tree;
        var subdir = RootedPath.ResolveScoped(tree, "/" + source.Subdir);
        if (!Directory.Exists(subdir))
            throw new CopyException($"{source.Source}: the repository has no directory {source.Subdir} at {source.Commit}");
        return subdir;
    }

    private static async Task GitAsync(GitRunner git, GitCheckoutSource source, CancellationToken cancellationToken, params string[] args)
    {
        var result = await RunAsync(git, null, cancellationToken, args);
        if (result.ExitCode != 0)
            throw new CopyException($"failed to check out {source.Source} at {source.Commit}: {result.Reason()}");
    }

    private static async Task<GitResult> RunAsync(GitRunner git, string? workingDirectory, CancellationToken cancellationToken, string[] args)
    {
        try
        {
            return await git.RunAsync(args, workingDirectory, cancellationToken);
        }
        catch (GitMissingException e)
        {
            throw new CopyException("ADD of a git repository needs git on the worker (Debian package git)", e);
        }
        catch (TimeoutException e)
        {
            throw new CopyException(e.Message, e);
        }
    }
}
