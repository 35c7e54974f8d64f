namespace BuildFarm.Coordinator.Planning;

/// <summary>What key filling needs from outside the Dockerfile.</summary>
public interface IPlanInputResolver
{
    /// <summary>The manifest digest ("sha256:...") of an image for a platform; never a tag.</summary>
    ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken);

    /// <summary>The <see cref="ContentChecksum"/> of the context files a step selects.</summary>
    ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken);

    /// <summary>The commit an ADD git source's ref names now (its content checksum); throws <see cref="GitSourceException"/>.</summary>
    ValueTask<string> ResolveGitCommitAsync(GitSource source, CancellationToken cancellationToken) =>
        throw new GitSourceException($"git sources cannot be resolved here ({source.Remote})");
}
