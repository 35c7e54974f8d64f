namespace BuildFarm.Coordinator.Planning;

/// <summary>A git source could not be pinned: the repository did not answer, or it has no such ref.</summary>
public sealed class GitSourceException(string message, Exception? inner = null) : Exception(message, inner);
