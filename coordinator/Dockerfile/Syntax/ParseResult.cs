namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>The parsed file: the root node (one child per instruction), the escape character in force, warnings.</summary>
public sealed record ParseResult(Node Ast, char EscapeToken, IReadOnlyList<ParseWarning> Warnings, string FileName);
