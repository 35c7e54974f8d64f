using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>Resolves images and context selections from tables the test controls.</summary>
public sealed class FakeResolver : IPlanInputResolver
{
    public Dictionary<string, string> Digests { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Checksums { get; } = new(StringComparer.Ordinal);
    public List<string> ResolvedImages { get; } = [];

    public ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken)
    {
        ResolvedImages.Add(reference);
        return ValueTask.FromResult(Digests.TryGetValue(reference, out var d) ? d : "sha256:" + new string('a', 64));
    }

    public ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Checksums.TryGetValue(selection.ToString(), out var c) ? c : "sha256:" + new string('c', 64));
}
