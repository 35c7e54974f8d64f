namespace BuildFarm.Worker.Steps;

/// <summary>WORKDIR: <c>mkdir -p</c> <see cref="Path"/> in the image, each missing component 0755 and owned by the
/// step's user (<see cref="StepRequest.User"/>), as BuildKit's file op makes it.</summary>
public sealed record WorkdirOperation : StepOperation
{
    /// <summary>Absolute and clean.</summary>
    public required string Path { get; init; }
}
