namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>Variables visible to the shell-word lexer.</summary>
public interface IShellEnvironment
{
    /// <summary>True when <paramref name="name"/> is defined (possibly as the empty string).</summary>
    bool TryGet(string name, out string value);

    /// <summary>The defined names, in definition order (duplicates removed).</summary>
    IReadOnlyList<string> Keys { get; }
}
