using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci.Git;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// Pins an ADD git source to a commit with <c>git ls-remote</c> (Debian's git, through <see cref="GitRunner"/>), as
/// BuildKit's git source does before it computes a cache key: the commit is the content checksum, so a moved branch or
/// tag misses the cache and an unchanged one hits. Never prompts, and gives up after <see cref="Timeout"/>.
/// </summary>
public sealed class GitRefResolver
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The commit <paramref name="source"/>'s ref names now; throws <see cref="GitSourceException"/> naming the
    /// repository and ref when it cannot.</summary>
    public Task<string> ResolveAsync(GitSource source, CancellationToken cancellationToken) => ResolveAsync(source, null, cancellationToken);

    /// <param name="ssh">For a remote over ssh: the build's agent and the host keys to trust.</param>
    public async Task<string> ResolveAsync(GitSource source, GitSsh? ssh, CancellationToken cancellationToken)
    {
        if (source.RefIsCommit) return source.Ref.ToLowerInvariant();
        var wanted = source.Ref.Length == 0 ? "HEAD" : source.Ref;
        GitResult result;
        try
        {
            result = await new GitRunner { Timeout = Timeout, Ssh = ssh }.RunAsync(["ls-remote", "--", source.Remote, wanted], null, cancellationToken);
        }
        catch (GitMissingException e)
        {
            throw new GitSourceException("git is not installed on the coordinator (Debian package git; scripts/install-deps.sh)", e);
        }
        catch (TimeoutException)
        {
            throw new GitSourceException($"git ls-remote {source.Remote} {wanted} did not answer in {Timeout.TotalSeconds:0} s");
        }
        if (result.ExitCode != 0)
            throw new GitSourceException($"failed to fetch remote {source.Remote}: {result.Reason(3)}");
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
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
}
