namespace BuildFarm.Coordinator.Planning;

public enum StepSourceKind
{
    /// <summary>Files of another stage (COPY --from=stage, RUN --mount from=stage).</summary>
    Stage,
    /// <summary>Files of an image that is not a stage (COPY --from=alpine:3).</summary>
    Image,
}
