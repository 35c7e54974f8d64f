using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Coordinator.Builds;

/// <summary>Key filling for one build: images already pinned by the runner, context checksums from the walked context.</summary>
public sealed class ResolvingInputs(IReadOnlyDictionary<string, ResolvedImage> images, BuildContext context) : IPlanInputResolver
{
    private readonly GitRefResolver _git = new();

    public ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ResolvedImageKey.Find(images, reference, platform).ManifestDigest);

    public ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Checksum(selection));

    // one lookup per repository and ref in a build: two ADDs of the same ref see the same commit even if it moves meanwhile
    private readonly Dictionary<(string Remote, string Ref), string> _commits = [];

    public async ValueTask<string> ResolveGitCommitAsync(GitSource source, CancellationToken cancellationToken)
    {
        if (_commits.TryGetValue((source.Remote, source.Ref), out var known)) return known;
        var commit = await _git.ResolveAsync(source, cancellationToken);
        _commits[(source.Remote, source.Ref)] = commit;
        return commit;
    }
}
