using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>An ARG as the outline knows it; <see cref="Deps"/>: the args its (global) default referenced.</summary>
internal sealed record OutlineArgInfo(string Key, string Value, string Comment, SourceLocation Location, IReadOnlySet<string> Deps);
