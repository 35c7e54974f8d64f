namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// The command of RUN/CMD/ENTRYPOINT: exec form keeps the array; shell form is one string and
/// <see cref="PrependShell"/> is true; heredocs of a RUN are in <see cref="Files"/>.
/// </summary>
public sealed record ShellDependentCommand(IReadOnlyList<string> CmdLine, IReadOnlyList<ShellInlineFile> Files, bool PrependShell);
