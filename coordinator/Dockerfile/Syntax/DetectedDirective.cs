namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>A directive found by <see cref="DirectiveDetector"/>: the value's first word, the whole value, its 1-based line.</summary>
public sealed record DetectedDirective(string Ref, string CommandLine, int Line);
