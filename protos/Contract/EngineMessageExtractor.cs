using Akka.Cluster.Sharding;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Protos;

/// <summary>Routes build messages by build id and step messages by cache key; the messages travel unwrapped.</summary>
public sealed class EngineMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string EntityId(object message) => message switch
    {
        StartBuild s => s.BuildId,
        CancelBuildCommand c => c.BuildId,
        RequestStep r => r.Definition.CacheKey,
        WithdrawStep w => w.CacheKey,
        _ => throw new ArgumentException($"{message.GetType().Name} is not routed by the engine's shard regions"),
    };
}
