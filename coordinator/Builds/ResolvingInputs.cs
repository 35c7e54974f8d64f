using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Coordinator.Builds;

/// <summary>Key filling for one build: images already pinned by the runner, context checksums from the walked context.</summary>
public sealed class ResolvingInputs(IReadOnlyDictionary<string, ResolvedImage> images, BuildContext context) : IPlanInputResolver
{
    public ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ResolvedImageKey.Find(images, reference, platform).ManifestDigest);

    public ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Checksum(selection));
}
