using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// An <see cref="IPlanInputResolver"/> over a context manifest (what the client sent, or <see cref="ContextWalker"/>'s
/// output) and a function that resolves image references to manifest digests (the registry client, or a table).
/// </summary>
public sealed class ContextManifestResolver(
    IReadOnlyList<ContextEntry> manifest,
    Func<string, string, CancellationToken, ValueTask<string>> resolveImageDigest) : IPlanInputResolver
{
    public ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken) =>
        resolveImageDigest(reference, platform, cancellationToken);

    public ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(ContextSelector.Checksum(manifest, selection));
    }
}
