
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>A malformed glob pattern: Go's <c>filepath.ErrBadPattern</c> ("syntax error in pattern").</summary>
public sealed class PatternSyntaxException : FormatException
{
    public const string BadPatternMessage = "syntax error in pattern";

    public PatternSyntaxException(string pattern)
        : base($"{BadPatternMessage}: \"{pattern}\"")
    {
        Pattern = pattern;
    }

    public PatternSyntaxException(string pattern, string message)
        : base(message)
    {
        Pattern = pattern;
    }

    public string Pattern { get; }
}
