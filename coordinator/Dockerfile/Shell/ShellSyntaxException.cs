namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>Internal signal inside the lexer; converted to <see cref="DockerfileException"/> at the API boundary.</summary>
internal sealed class ShellSyntaxException(string message) : Exception(message);
