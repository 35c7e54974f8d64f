namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>A non-fatal finding of the parser (BuildKit: empty continuation lines).</summary>
public sealed record ParseWarning(string Short, IReadOnlyList<string> Detail, string Url, int Line);
