namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>A parser directive (<c># escape=`</c>) with its lower-cased name and 1-based line.</summary>
public sealed record Directive(string Name, string Value, int Line);
