namespace BuildFarm.Worker.Execution;

/// <summary>One line a step printed, stamped when the worker read it.</summary>
public sealed record OutputLine(DateTimeOffset Timestamp, OutputStream Stream, string Text);
