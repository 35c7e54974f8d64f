namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>STOPSIGNAL signal</c>.</summary>
public sealed record StopSignalInstruction(string Signal) : Instruction, IExpandableInstruction
{
    public Instruction Expand(Func<string, string> expand) => this with { Signal = expand(Signal) };
}
