namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// A here-document attached to an instruction (<c>RUN &lt;&lt;EOF</c>). <see cref="Content"/> is the raw
/// body, each line with its newline; <see cref="Chomp"/> marks <c>&lt;&lt;-</c> (leading tabs are
/// stripped later, by the consumer); <see cref="Expand"/> is false when the delimiter was quoted;
/// <see cref="FileDescriptor"/> is N in <c>N&lt;&lt;EOF</c> (0 when absent).
/// </summary>
public sealed record Heredoc(string Name, string Content, bool Expand, bool Chomp, ulong FileDescriptor);
