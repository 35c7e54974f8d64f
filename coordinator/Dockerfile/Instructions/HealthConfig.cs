namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// The image config's healthcheck: <see cref="Test"/> is ["NONE"], ["CMD", args...] or
/// ["CMD-SHELL", command]; zero durations and retries mean "inherit the default".
/// </summary>
public sealed record HealthConfig(
    IReadOnlyList<string> Test,
    TimeSpan Interval = default,
    TimeSpan Timeout = default,
    TimeSpan StartPeriod = default,
    TimeSpan StartInterval = default,
    int Retries = 0);
