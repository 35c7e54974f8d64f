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
}
