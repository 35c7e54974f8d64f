namespace BuildFarm.Oci.Images;

/// <summary>An index has no manifest for the requested platform.</summary>
public sealed class PlatformNotFoundException(Platform platform, IReadOnlyList<string> available)
    : Exception($"no manifest for platform {platform} in the index; it has: {string.Join(", ", available)}")
{
    public Platform Platform { get; } = platform;
    public IReadOnlyList<string> Available { get; } = available;
}
