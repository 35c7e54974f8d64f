namespace BuildFarm.Coordinator.Planning;

/// <summary>What a step builds on: the previous step's key, a base image manifest digest, or scratch.</summary>
public sealed record CacheKeyParent(CacheKeyParentKind Kind, string Value)
{
    public const string ScratchValue = "scratch";

    public static CacheKeyParent Scratch { get; } = new(CacheKeyParentKind.Scratch, ScratchValue);

    public static CacheKeyParent Step(string cacheKey) => new(CacheKeyParentKind.Step, cacheKey);

    public static CacheKeyParent BaseImage(string manifestDigest) => new(CacheKeyParentKind.BaseImage, manifestDigest);

    public override string ToString() => Kind switch
    {
        CacheKeyParentKind.Step => $"step {Value}",
        CacheKeyParentKind.BaseImage => $"image {Value}",
        _ => "scratch",
    };
}
