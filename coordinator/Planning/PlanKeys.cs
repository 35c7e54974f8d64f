namespace BuildFarm.Coordinator.Planning;

/// <summary>The filled cache keys of a plan, and the inputs of each (kept to explain a cache miss).</summary>
public sealed record PlanKeys(IReadOnlyDictionary<string, string> Keys, IReadOnlyDictionary<string, CacheKeyInputs> Inputs)
{
    public string KeyOf(string stepId) => Keys[stepId];
}
