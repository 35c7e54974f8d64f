using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Everything an instruction parser needs from a node.</summary>
internal sealed record InstructionRequest(
    string Command,
    List<string> Args,
    IReadOnlyList<Heredoc> Heredocs,
    bool IsJson,
    BuilderFlags Flags,
    string Original,
    SourceLocation Location,
    IReadOnlyList<string> Comments);
