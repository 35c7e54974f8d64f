namespace BuildFarm.Coordinator.Planning;

/// <summary>What a --from value names: a stage of this Dockerfile (by name or index) or an external image.</summary>
internal sealed record StageReference(string Text, int? StageIndex)
{
    public bool IsStage => StageIndex is not null;
}
