namespace BuildFarm.Coordinator.Engine;

/// <summary>A worker as the pool sees it when it places a step: its slots, how many it believes busy, the diff ids of
/// the layers it reported extracted, and how it runs the step's platform (<see cref="PlatformFit.Native"/> when the step
/// names none).</summary>
public sealed record WorkerCandidate(string Id, int Slots, int Busy, IReadOnlySet<string> Layers, PlatformFit Fit = PlatformFit.Native)
{
    public int Free => Slots - Busy;
}
