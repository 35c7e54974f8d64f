namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>A heredoc body given to a RUN (raw; <see cref="Chomp"/> says to strip leading tabs).</summary>
public sealed record ShellInlineFile(string Name, string Data, bool Chomp);
