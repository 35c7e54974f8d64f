namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// A COPY --from / RUN --mount from= source. <see cref="Reference"/> is what the Dockerfile wrote (expanded);
/// for a stage, <see cref="StageIndex"/> and the id of its last step; for an image, the image reference.
/// </summary>
public sealed record StepSource(StepSourceKind Kind, string Reference, int? StageIndex = null, string? StepId = null);
