
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>One pattern read from an ignore file, with the 1-based line it came from (for error messages).</summary>
public sealed record IgnoreFileEntry(string Pattern, int Line);
