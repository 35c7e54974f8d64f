namespace BuildFarm.Coordinator.Images;

/// <summary>
/// How a build's pinned base images are keyed: by platform and reference, since one reference names a different manifest
/// per platform (`FROM --platform=$BUILDPLATFORM golang` and `FROM golang` in one Dockerfile). A bare reference key
/// (older callers, single-platform tables) is still found.
/// </summary>
public static class ResolvedImageKey
{
    public static string Of(string reference, string platform) => $"{platform} {reference}";

    public static ResolvedImage Find(IReadOnlyDictionary<string, ResolvedImage> images, string reference, string platform) =>
        images.TryGetValue(Of(reference, platform), out var image) || images.TryGetValue(reference, out image)
            ? image
            : throw new InvalidOperationException($"image {reference} ({platform}) was not resolved before planning the graph");
}
