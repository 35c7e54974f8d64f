namespace BuildFarm.Worker.Steps;

/// <summary>An ADD source that is a git repository, pinned by the planner to <see cref="Commit"/> (the key's content).</summary>
public sealed record GitCheckoutSource(string Source, string Remote, string Ref, string Subdir, string Commit)
{
    /// <summary>Over ssh: the build's ssh agent id git's ssh authenticates with ("default"); empty for other remotes.</summary>
    public string SshId { get; init; } = "";

    /// <summary>Over ssh: the known_hosts lines the planner scanned; empty means host keys are not checked (as BuildKit
    /// does when its scan fails).</summary>
    public string KnownHosts { get; init; } = "";
}
