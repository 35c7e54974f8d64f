using BuildFarm.Worker.Execution;

namespace BuildFarm.Worker.Steps;

/// <summary>A step in progress: its output as an async stream (ends when the step ends) and its result.</summary>
public sealed record RunningStep(IAsyncEnumerable<OutputLine> Output, Task<StepResult> Result);
