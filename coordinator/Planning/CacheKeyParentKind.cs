namespace BuildFarm.Coordinator.Planning;

public enum CacheKeyParentKind
{
    /// <summary>The previous step's cache key.</summary>
    Step,
    /// <summary>A base image, by manifest digest (never by tag).</summary>
    BaseImage,
    /// <summary>FROM scratch: a constant.</summary>
    Scratch,
}
