namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Values of <c>RUN --network</c>.</summary>
public static class RunNetwork
{
    public const string Default = "default";
    public const string None = "none";
    public const string Host = "host";

    public static bool IsValid(string value) => value is Default or None or Host;
}
