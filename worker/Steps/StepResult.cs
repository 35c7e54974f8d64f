using BuildFarm.Oci;
using BuildFarm.Worker.Execution;

namespace BuildFarm.Worker.Steps;

/// <summary>What a step produced. A failed RUN has no layer, a non-zero <see cref="ExitCode"/> and its last lines.</summary>
public sealed record StepResult(Descriptor? Layer, Digest? DiffId, int ExitCode, IReadOnlyList<OutputLine> LastOutput)
{
    public bool Succeeded => ExitCode == 0 && Layer is not null;
}
