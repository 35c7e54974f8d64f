namespace BuildFarm.Coordinator.Builds;

/// <summary>Values of <c>--call</c> (BuildSpec.call) that this farm answers; buildx's outline/targets are not among them yet.</summary>
public static class BuildCalls
{
    public const string Build = "build";
    public const string Check = "check";

    public static IReadOnlyList<string> Known { get; } = [Build, Check];

    public static bool IsCheck(string call) => call == Check;

    /// <summary>Null when the value is one this farm answers ("" means build); else why not.</summary>
    public static string? Problem(string call) =>
        call.Length == 0 || Known.Contains(call) ? null : $"--call {call}: unsupported (supported: {string.Join(", ", Known)})";
}
