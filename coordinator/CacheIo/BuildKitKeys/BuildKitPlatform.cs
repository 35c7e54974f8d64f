namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>A platform as BuildKit's cache maps write it (OS, Arch, Variant only when set).</summary>
public sealed record BuildKitPlatform(string Os, string Architecture, string Variant)
{
    /// <summary>"os/arch[/variant]"; null when it is not that.</summary>
    public static BuildKitPlatform? Parse(string text)
    {
        var parts = text.Split('/');
        return parts.Length is 2 or 3 && parts.All(p => p.Length > 0)
            ? new BuildKitPlatform(parts[0], parts[1], parts.Length == 3 ? parts[2] : "")
            : null;
    }
}
