namespace BuildFarm.Cli.Hosting;

/// <summary>How a host finds its cluster: the seeds it is given, or Akka.Management cluster bootstrap over a discovery.</summary>
public enum ClusterDiscovery
{
    /// <summary><c>--seeds</c> (none: this node is the first seed).</summary>
    Seeds,

    /// <summary>Bootstrap with the contact points listed in the settings (<c>--contact-points</c>): a local run, tests.</summary>
    Config,

    /// <summary>Bootstrap with the pods the Kubernetes API lists for <c>--pod-label-selector</c> (their "management" port).</summary>
    Kubernetes,
}
