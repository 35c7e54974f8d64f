using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>One build arg of an outline: its name, the value the build would use ("" when none) and its doc comment.</summary>
public sealed record OutlineArg(string Name, string Value, string Description, SourceLocation Location);
