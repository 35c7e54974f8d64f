namespace BuildFarm.Worker.Steps;

/// <summary>One heredoc: <c>&lt;&lt;Name</c> followed by <see cref="Content"/> (already expanded when it should be).</summary>
public sealed record Heredoc(string Name, string Content);
