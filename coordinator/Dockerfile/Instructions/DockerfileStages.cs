using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>A whole Dockerfile: the ARGs before the first FROM (global meta args) and the stages in order.</summary>
public sealed record DockerfileStages(IReadOnlyList<ArgInstruction> MetaArgs, IReadOnlyList<Stage> Stages, char EscapeToken)
{
    /// <summary>Parser warnings (e.g. empty continuation lines), to pass on to the user.</summary>
    public IReadOnlyList<ParseWarning> Warnings { get; init; } = [];

    /// <summary>The parser directives at the top of the file (<c>syntax</c>, <c>escape</c>, <c>check</c>).</summary>
    public IReadOnlyList<Directive> Directives { get; init; } = [];

    /// <summary>The stage with this name (case-insensitive), or null.</summary>
    public Stage? FindStage(string name) =>
        Stages.FirstOrDefault(s => s.Name.Length > 0 && s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
}
