namespace BuildFarm.Worker.Execution;

/// <summary>Where runc is and where its state and bundles go. Give each worker (and each test run) its own
/// <see cref="StateRoot"/> so concurrent runs never see each other's containers.</summary>
public sealed record RuncOptions(string StateRoot, string BundleRoot)
{
    public string RuncPath { get; init; } = "/usr/sbin/runc";
    /// <summary>How long a killed container may take to exit before the executor stops waiting on it.</summary>
    public TimeSpan KillTimeout { get; init; } = TimeSpan.FromMilliseconds(800);
}
