namespace BuildFarm.Coordinator.Planning;

public enum StageBaseKind
{
    Scratch,
    /// <summary>An earlier stage of the same Dockerfile.</summary>
    Stage,
    /// <summary>An image from a registry; its manifest digest is resolved before keys are filled.</summary>
    Image,
}
