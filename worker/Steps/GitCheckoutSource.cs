namespace BuildFarm.Worker.Steps;

/// <summary>An ADD source that is a git repository, pinned by the planner to <see cref="Commit"/> (the key's content).</summary>
public sealed record GitCheckoutSource(string Source, string Remote, string Ref, string Subdir, string Commit);
