using Akka.Cluster.Sharding;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Protos;

/// <summary>
/// Routes build messages by build id and step messages by cache key; the messages travel unwrapped. A worker's news of
/// a run is routed by its key too (never to a fixed actor path), so it reaches whichever entity holds the key now.
/// </summary>
public sealed class EngineMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string EntityId(object message) => message switch
    {
        StartBuild s => s.BuildId,
        CancelBuildCommand c => c.BuildId,
        RequestStep r => r.Definition.CacheKey,
        WithdrawStep w => w.CacheKey,
        StepStarted s => s.CacheKey,
        StepHeartbeat h => h.CacheKey,
        StepLog l => l.CacheKey,
        StepCompleted c => c.Result.CacheKey,
        StepFailed f => f.CacheKey,
        _ => throw new ArgumentException($"{message.GetType().Name} is not routed by the engine's shard regions"),
    };
}
