namespace BuildFarm.Oci.Git;

/// <summary>
/// How git reaches a repository over ssh for one build: the build's ssh agent (its socket on this host) and the host keys
/// to trust (known_hosts lines; empty: not checked, as BuildKit's git source does when it has none).
/// </summary>
public sealed record GitSsh(string AgentSocket, string KnownHosts);
