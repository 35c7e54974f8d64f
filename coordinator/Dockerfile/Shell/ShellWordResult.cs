namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>
/// The outcome of expanding one word: the single-word result, the split words, and which
/// referenced variables were defined (<see cref="Matched"/>) or not (<see cref="Unmatched"/>).
/// </summary>
public sealed record ShellWordResult(
    string Result,
    IReadOnlyList<string> Words,
    IReadOnlySet<string> Matched,
    IReadOnlySet<string> Unmatched);
