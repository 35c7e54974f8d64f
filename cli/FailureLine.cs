namespace BuildFarm.Cli;

/// <summary>One line naming why a command failed: the exception's message, and its causes' when they add something.</summary>
public static class FailureLine
{
    public static string Of(Exception error) => BuildFarm.Coordinator.Engine.OneLine.Of(error);
}
