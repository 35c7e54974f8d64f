namespace BuildFarm.Worker.Steps;

/// <summary>RUN --mount=type=cache,sharing=...: shared (concurrent writers), private (a new instance when busy),
/// locked (wait for the writer).</summary>
public enum CacheSharing
{
    Shared,
    Private,
    Locked,
}
