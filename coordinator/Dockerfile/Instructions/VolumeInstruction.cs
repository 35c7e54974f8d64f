namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>VOLUME path...</c> or the JSON form.</summary>
public sealed record VolumeInstruction(IReadOnlyList<string> Volumes) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) => this with { Volumes = Volumes.Select(expand).ToArray() };
}
