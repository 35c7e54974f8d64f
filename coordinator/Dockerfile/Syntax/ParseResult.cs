namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// The parsed file: the root node (one child per instruction), the escape character in force,
/// warnings, and the parser directives found at the top (<c>syntax</c>, <c>escape</c>, <c>check</c>).
/// </summary>
public sealed record ParseResult(Node Ast, char EscapeToken, IReadOnlyList<ParseWarning> Warnings, string FileName, IReadOnlyList<Directive> Directives)
{
    /// <summary>The value of a directive (e.g. "check"), or null.</summary>
    public string? GetDirective(string name) => Directives.FirstOrDefault(d => d.Name == name)?.Value;
}
