using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>A secret or ssh id a RUN mounts, and whether the mount is required.</summary>
public sealed record OutlineRequirement(string Name, bool Required, SourceLocation Location);
