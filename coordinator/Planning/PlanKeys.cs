namespace BuildFarm.Coordinator.Planning;

/// <summary>The filled cache keys of a plan, and the inputs of each (kept to explain a cache miss).</summary>
public sealed record PlanKeys(IReadOnlyDictionary<string, string> Keys, IReadOnlyDictionary<string, CacheKeyInputs> Inputs)
{
    public string KeyOf(string stepId) => Keys[stepId];

    /// <summary>ADD git sources pinned while the keys were filled: step id → (source as written → commit). The worker
    /// checks out exactly these commits, so every node builds what the key says.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> GitCommits { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>The pinned commits of one step's git sources (empty for steps without).</summary>
    public IReadOnlyDictionary<string, string> GitCommitsOf(string stepId) =>
        GitCommits.TryGetValue(stepId, out var commits) ? commits : new Dictionary<string, string>();
}
