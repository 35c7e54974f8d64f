namespace BuildFarm.Worker.Execution;

/// <summary>Where runc is and where its state and bundles go. Give each worker (and each test run) its own
/// <see cref="StateRoot"/> so concurrent runs never see each other's containers.</summary>
public sealed record RuncOptions(string StateRoot, string BundleRoot)
{
    public string RuncPath { get; init; } = "/usr/sbin/runc";
    /// <summary>Tools that bring the loopback interface up in a step's own network namespace (runc leaves it down;
    /// builds expect localhost to work). Without them the step still runs, with loopback down.</summary>
    public string NsenterPath { get; init; } = "/usr/bin/nsenter";
    public string IpPath { get; init; } = "/sbin/ip";

    /// <summary>cgroup limits of every step this executor runs (a step's own <see cref="ContainerSpec.Limits"/> may lower them, never raise them).</summary>
    public ContainerLimits Limits { get; init; } = ContainerLimits.Default;

    /// <summary>The cgroup parent of steps' cgroups (one per container, named after it; runc removes it on delete).</summary>
    public string CgroupParent { get; init; } = "/buildfarm";

    /// <summary>How long a killed container may take to exit before the executor stops waiting on it.</summary>
    public TimeSpan KillTimeout { get; init; } = TimeSpan.FromMilliseconds(800);
}
