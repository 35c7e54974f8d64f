using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// Puts a new shard on the coordinator region with the fewest shards (the asking one on a tie, so a one-node start
/// keeps its messages local) and never moves a live shard. Moving a shard stops its entities: a step entity loses its
/// waiters and its run, a build entity its walk; both come back (workers reply by key, builds re-ask, watchers re-send)
/// but at the price of a re-ask delay and a chance of running a step twice. What a rebalance would buy is small:
/// entities are cheap bookkeeping, the heavy work of a build runs on the workers and on the coordinator that took the
/// API call. So a joining coordinator takes shards that are new (after a node left, the shards of the gone node) and
/// never takes live ones; a leaving one hands its shards over, a dead one's restart elsewhere after it is downed.
/// </summary>
public sealed class NoRebalanceAllocation : IShardAllocationStrategy
{
    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        if (currentShardAllocations.Count == 0) return Task.FromResult(requester);
        var fewest = currentShardAllocations.Min(a => a.Value.Count);
        var region = currentShardAllocations.TryGetValue(requester, out var own) && own.Count == fewest
            ? requester
            : currentShardAllocations.Where(a => a.Value.Count == fewest).OrderBy(a => a.Key.Path.ToString(), StringComparer.Ordinal).First().Key;
        return Task.FromResult(region);
    }

    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress) => Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
}
