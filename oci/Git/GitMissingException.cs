namespace BuildFarm.Oci.Git;

/// <summary>git could not be started on this host (not installed).</summary>
public sealed class GitMissingException(string message, Exception inner) : Exception(message, inner);
