using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>A stage of the Dockerfile; <see cref="Pruned"/> when the target does not need it (then it has no steps).</summary>
public sealed record PlannedStage
{
    public required int Index { get; init; }

    /// <summary>The stage's name as written (lower-cased), or "" when unnamed.</summary>
    public required string Name { get; init; }

    /// <summary>Name, or "stage-&lt;index&gt;" when unnamed (BuildKit's naming).</summary>
    public required string DisplayName { get; init; }

    public required StageBaseKind BaseKind { get; init; }

    /// <summary>The expanded base name (image reference, stage name, or "scratch").</summary>
    public required string BaseName { get; init; }

    public int? BaseStageIndex { get; init; }
    public required string Platform { get; init; }
    public required SourceLocation Location { get; init; }
    public required bool Pruned { get; init; }
    public IReadOnlyList<string> StepIds { get; init; } = [];

    /// <summary>Indexes of the stages this one needs (base stage and --from stages).</summary>
    public IReadOnlyList<int> DependsOnStages { get; init; } = [];

    public ImageConfigState? FinalConfig { get; init; }
}
