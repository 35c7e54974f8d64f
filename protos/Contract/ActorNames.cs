namespace BuildFarm.Protos;

/// <summary>Names and paths both sides of the cluster address each other by.</summary>
public static class ActorNames
{
    /// <summary>The worker pool of a coordinator node: /user/worker-pool.</summary>
    public const string WorkerPool = "worker-pool";
    /// <summary>The worker actor of a worker node: /user/worker.</summary>
    public const string Worker = "worker";
    /// <summary>Shard type name of the build entities (one per build id).</summary>
    public const string BuildShard = "build";
    /// <summary>Shard type name of the step entities (one per cache key).</summary>
    public const string StepShard = "step";
    /// <summary>The singleton manager of the cluster-wide team step permits on each coordinator: /user/team-permits.</summary>
    public const string TeamPermits = "team-permits";
    /// <summary>The proxy through which a coordinator's worker pool reaches that singleton: /user/team-permits-proxy.</summary>
    public const string TeamPermitsProxy = "team-permits-proxy";
}
